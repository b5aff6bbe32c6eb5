"""Exact point-to-triangle distances (Open3D RaycastingScene); uniform surface sampling is `render.mesh.sample_surface`."""

from __future__ import annotations

import numpy as np

from render.mesh import Mesh, MeshError, raycasting_scene


def point_to_surface_distances(points: np.ndarray, mesh: Mesh) -> np.ndarray:
    """(N,) unsigned distance from each of `points` (N, 3) to the closest point on any triangle of `mesh`.

    Exact point-to-triangle distances (not to vertices) from Open3D's RaycastingScene (a BVH, float32
    inside); coordinates are shifted to the mesh's bounding-box centre in float64 first, so a mesh far
    from the origin keeps its precision. Units are those of the inputs.
    """
    import open3d as o3d

    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points: expected shape (N, 3), got {points.shape}")
    if mesh.num_faces == 0:
        raise MeshError(f"expected a mesh with at least one face to measure distances to, got {mesh!r}")
    origin = 0.5 * (mesh.vertices.min(axis=0) + mesh.vertices.max(axis=0))
    scene = raycasting_scene(mesh.vertices - origin, mesh.faces)
    query = o3d.core.Tensor(np.ascontiguousarray(points - origin, dtype=np.float32))
    return scene.compute_distance(query).numpy().astype(np.float64)
