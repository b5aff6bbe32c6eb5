"""Uniform surface sampling and exact point-to-triangle distances (Open3D RaycastingScene)."""

from __future__ import annotations

import numpy as np

from render.mesh import Mesh, MeshError, raycasting_scene


def face_areas(mesh: Mesh) -> np.ndarray:
    """(F,) triangle areas, in the mesh's units squared."""
    a, b, c = (mesh.vertices[mesh.faces[:, k]] for k in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def sample_surface(mesh: Mesh, count: int, seed: int) -> np.ndarray:
    """(count, 3) points drawn uniformly over the surface area (area-weighted face choice, uniform barycentrics).

    The same (mesh, count, seed) always gives the same points. Degenerate (zero-area) faces are never chosen.
    Raises MeshError for a mesh without faces or with zero total area.

    Example:
        >>> points = sample_surface(mesh, 10_000, seed=0)   # (10000, 3), same units as mesh.vertices
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count <= 0:
        raise ValueError(f"count: expected a positive integer, got {count!r}")
    if mesh.num_faces == 0:
        raise MeshError(f"expected a mesh with at least one face to sample, got {mesh!r}")
    areas = face_areas(mesh)
    total = float(areas.sum())
    if not total > 0.0:
        raise MeshError(f"expected a mesh with positive surface area, got {total:g} ({mesh!r})")
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(areas)
    # searchsorted on the cumulative areas: face f is chosen with probability areas[f] / total.
    face_ids = np.searchsorted(cumulative, rng.random(count) * cumulative[-1], side="right")
    face_ids = np.minimum(face_ids, len(areas) - 1)  # guards the float edge case u * total == total
    u, v = rng.random((2, count))
    outside = u + v > 1.0  # fold the unit square onto the triangle u + v <= 1
    u[outside], v[outside] = 1.0 - u[outside], 1.0 - v[outside]
    a, b, c = (mesh.vertices[mesh.faces[face_ids, k]] for k in range(3))
    return a + u[:, None] * (b - a) + v[:, None] * (c - a)


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
