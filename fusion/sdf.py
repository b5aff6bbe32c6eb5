"""Truncated signed distance of a triangle mesh on a voxel grid, with an inside test that tolerates small holes.

Convention: metres; negative inside, positive outside; values clamped to [-truncation, +truncation].

How: the sign is a majority vote of the ray-parity inside tests along ``sign_rays`` random directions (Open3D
``RaycastingScene.compute_occupancy``), so a ray slipping through a small hole or grazing an edge is outvoted.
The distance itself is computed exactly (closest point on the triangles) only in a narrow band: a coarse
lattice (every ``coarse_step``-th sample) is measured first, and fine samples whose coarse node is farther than
``truncation`` plus the node's reach are set to +-truncation without a query.
"""

from __future__ import annotations

import math

import numpy as np

from fusion.errors import FusionError
from implicit.grid import VoxelGrid
from render.mesh import Mesh, raycasting_scene


def _scene(mesh: Mesh):
    if mesh.num_faces == 0:
        raise FusionError(f"mesh: expected a mesh with faces for a signed distance, got {mesh!r}")
    return raycasting_scene(mesh.vertices, mesh.faces)


def _tensor(points: np.ndarray):
    import open3d as o3d

    return o3d.core.Tensor(np.ascontiguousarray(points, dtype=np.float32))


def truncated_sdf(mesh: Mesh, grid: VoxelGrid, truncation_m: float, sign_rays: int = 5, coarse_step: int = 4) -> np.ndarray:
    """Truncated signed distance of ``mesh`` at every sample of ``grid``.

    Args:
        mesh: closed (or nearly closed) triangle mesh, world metres.
        grid: where to evaluate.
        truncation_m: distances are clamped to this magnitude, metres (> 0).
        sign_rays: odd number of rays voting on inside/outside per sample.
        coarse_step: spacing, in samples, of the lattice that finds the narrow band (1 = measure every sample).
    Returns:
        (nx, ny, nz) float32 volume, metres, negative inside.
    """
    if not truncation_m > 0:
        raise FusionError(f"truncation_m: expected > 0 metres, got {truncation_m!r}")
    if sign_rays < 1 or sign_rays % 2 == 0:
        raise FusionError(f"sign_rays: expected an odd number >= 1, got {sign_rays!r}")
    if coarse_step < 1:
        raise FusionError(f"coarse_step: expected >= 1 samples, got {coarse_step!r}")
    scene = _scene(mesh)
    points = grid.points()
    inside = scene.compute_occupancy(_tensor(points), nsamples=sign_rays).numpy().reshape(grid.shape) > 0.5

    # Coarse nodes at indices 0, s, 2s, ... (the last may lie past the grid); each fine sample is within s/2
    # samples per axis of its nearest node, so it is at least d(node) - reach from the surface.
    nodes = [np.arange(0, n + coarse_step - 1, coarse_step) for n in grid.shape]
    node_points = np.stack(np.meshgrid(*nodes, indexing="ij"), axis=-1).reshape(-1, 3)
    node_distance = scene.compute_distance(_tensor(grid.index_to_world(node_points))).numpy()
    node_distance = node_distance.reshape([len(a) for a in nodes])
    reach = 0.5 * coarse_step * math.sqrt(3.0) * grid.voxel_size
    nearest = [np.minimum(np.rint(np.arange(n) / coarse_step).astype(int), len(a) - 1) for n, a in zip(grid.shape, nodes)]
    band = node_distance[np.ix_(*nearest)] < truncation_m + reach  # (nx, ny, nz)

    distance = np.full(grid.shape, truncation_m, np.float32)
    flat = np.flatnonzero(band)
    if len(flat):
        near = scene.compute_distance(_tensor(points[flat])).numpy()
        distance.reshape(-1)[flat] = np.minimum(near, truncation_m)
    return np.where(inside, -distance, distance)
