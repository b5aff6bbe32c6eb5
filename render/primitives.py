"""Simple meshes and cameras for tests, benchmarks and stand-in scenes (metres, z-up; meshes via trimesh)."""

from __future__ import annotations

import numpy as np
import trimesh

from calibration.camera import Camera, look_at_rotation
from render.mesh import Mesh


def _mesh(shape: trimesh.Trimesh, center, color) -> Mesh:
    vertices = np.asarray(shape.vertices, dtype=np.float64) + np.asarray(center, dtype=np.float64)
    colors = None if color is None else np.tile(np.asarray(color, dtype=np.float64), (len(vertices), 1))
    return Mesh(vertices, np.asarray(shape.faces, dtype=np.int64), colors=colors)


def icosphere(radius: float = 1.0, center=(0.0, 0.0, 0.0), subdivisions: int = 3, color=None) -> Mesh:
    """A watertight icosphere with 20 * 4**subdivisions faces (1280 for 3, 20480 for 5)."""
    return _mesh(trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius), center, color)


def box(extents=(1.0, 1.0, 1.0), center=(0.0, 0.0, 0.0), color=None) -> Mesh:
    """An axis-aligned box of 12 faces whose 24 vertices are not shared between sides (flat shading)."""
    shape = trimesh.creation.box(extents=extents)
    shape.unmerge_vertices()
    return _mesh(shape, center, color)


def capsule(
    radius: float = 0.2, height: float = 1.7, center=(0.0, 0.0, 0.85), sections: int = 128, color=None
) -> Mesh:
    """A watertight upright (z) capsule of total `height`, centred at `center`: a stand-in person.

    It has about 2 * sections**2 faces (sections = 112 gives ~25k faces).
    """
    if height < 2.0 * radius:
        raise ValueError(f"capsule: expected height >= 2 * radius = {2 * radius:g}, got height = {height:g}")
    shape = trimesh.creation.capsule(height=height - 2.0 * radius, radius=radius, count=[sections, sections])
    return _mesh(shape, center, color)


def look_at_camera(
    name: str, center, target=(0.0, 0.0, 1.0), size: int = 256, focal_px: float | None = None, dist=None
) -> Camera:
    """A square `size` x `size` camera at `center` looking at `target` (z up), principal point at the image
    centre ((size - 1) / 2), focal length `focal_px` (default: 50 degrees horizontal field of view)."""
    center = np.asarray(center, dtype=np.float64)
    focal = focal_px if focal_px is not None else size / (2.0 * np.tan(np.radians(25.0)))
    c = (size - 1) / 2.0
    R = look_at_rotation(center, np.asarray(target, dtype=np.float64))
    K = np.array([[focal, 0.0, c], [0.0, focal, c], [0.0, 0.0, 1.0]])
    return Camera(name, size, size, K, np.zeros(5) if dist is None else dist, R, -R @ center)
