"""Shared fixtures: one Taichi initialisation and one rendered test scene per session (kernels compile once)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from calibration.camera import Camera
from render import Mesh, RenderOutput, init_taichi, render
from render.primitives import box, icosphere, look_at_camera


@pytest.fixture(scope="session")
def taichi_arch() -> str:
    """Initialise Taichi once (arch from $MULTICAP_TAICHI_ARCH, default cpu)."""
    return init_taichi()


@dataclass(frozen=True)
class Scene:
    meshes: list[Mesh]
    cameras: list[Camera]
    output: RenderOutput


def scene_cameras(size: int = 160) -> list[Camera]:
    """Four undistorted views of the sphere + box scene, from different sides and heights."""
    return [
        look_at_camera("front", (0.0, -3.0, 1.2), (0.1, 0.0, 0.8), size),
        look_at_camera("side", (2.6, 0.4, 1.8), (0.1, 0.0, 0.8), size),
        look_at_camera("high", (-1.5, 1.5, 3.0), (0.0, 0.0, 0.7), size),
        look_at_camera("close", (0.5, -1.6, 0.9), (0.0, 0.0, 0.9), size, focal_px=80.0),
    ]


def scene_meshes() -> list[Mesh]:
    """A sphere partly in front of a box (from the 'front' camera), and the box."""
    return [
        icosphere(0.35, center=(0.0, -0.3, 0.9), subdivisions=3, color=(0.9, 0.2, 0.2)),
        box((0.6, 0.5, 0.8), center=(0.2, 0.2, 0.6), color=(0.2, 0.4, 0.9)),
    ]


@pytest.fixture(scope="session")
def scene(taichi_arch) -> Scene:
    meshes, cameras = scene_meshes(), scene_cameras()
    return Scene(meshes, cameras, render(meshes, cameras))


def _pixel_rays(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Rays through the pixel centres of an undistorted camera: origins (H, W, 3) and world directions
    (H, W, 3) scaled to unit camera z, so a hit at ray parameter t has camera depth t."""
    xs, ys = np.meshgrid(np.arange(camera.width), np.arange(camera.height))
    pixels = np.stack([xs, ys, np.ones_like(xs)], axis=-1).astype(np.float64)
    directions = pixels @ np.linalg.inv(camera.K).T @ camera.R  # (R^T K^-1 p) for each pixel
    origins = np.broadcast_to(camera.center, directions.shape)
    return origins, directions


def _raycast(meshes: list[Mesh], camera: Camera) -> dict[str, np.ndarray]:
    """Open3D reference: depth (H, W) camera z (inf on miss), geometry ids and primitive ids (H, W)."""
    import open3d as o3d

    rc = o3d.t.geometry.RaycastingScene()
    for mesh in meshes:
        rc.add_triangles(
            o3d.core.Tensor(mesh.vertices.astype(np.float32)), o3d.core.Tensor(mesh.faces.astype(np.uint32))
        )
    origins, directions = _pixel_rays(camera)
    rays = np.concatenate([origins, directions], axis=-1).astype(np.float32)
    hits = rc.cast_rays(o3d.core.Tensor(rays))
    miss = int(rc.INVALID_ID)
    geometry = hits["geometry_ids"].numpy().astype(np.int64)
    return {
        "depth": hits["t_hit"].numpy(),
        "geometry_id": np.where(geometry == miss, -1, geometry),
        "primitive_id": np.where(geometry == miss, -1, hits["primitive_ids"].numpy().astype(np.int64)),
    }


@pytest.fixture(scope="session")
def pixel_rays():
    """The function `_pixel_rays(camera) -> (origins, directions)`, each (H, W, 3)."""
    return _pixel_rays


@pytest.fixture(scope="session")
def raycast():
    """The function `_raycast(meshes, camera) -> {depth, geometry_id, primitive_id}` (Open3D reference)."""
    return _raycast
