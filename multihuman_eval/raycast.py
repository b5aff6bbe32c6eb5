"""Normal maps by ray casting (Open3D RaycastingScene): the CPU fallback renderer of the normal metric.

Any function with the signature of `render_normal_maps` can stand in for it (e.g. the Taichi rasterizer of
`render`): `multihuman_eval.normals.evaluate_normals` takes the renderer as an argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from calibration.camera import Camera
from multihuman_eval.mesh import Mesh


def pixel_rays(camera: Camera) -> np.ndarray:
    """(H, W, 3) world-space ray directions through every pixel centre (not unit length; camera z = 1).

    Pixel (u, v) has its centre at integer coordinates; distortion is undone exactly (iteratively), so the
    point `camera.center + d * rays[v, u]` projects back onto (u, v) with `camera.project` for any d > 0.
    """
    import cv2

    u, v = np.meshgrid(np.arange(camera.width, dtype=np.float64), np.arange(camera.height, dtype=np.float64))
    pixels = np.stack([u, v], axis=-1).reshape(-1, 1, 2)
    if camera.has_distortion:
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
        normalized = cv2.undistortPointsIter(pixels, camera.K, camera.dist, None, None, criteria).reshape(-1, 2)
    else:
        normalized = (pixels.reshape(-1, 2) - camera.K[:2, 2]) @ np.linalg.inv(camera.K[:2, :2]).T
    directions_cam = np.concatenate([normalized, np.ones((len(normalized), 1))], axis=1)
    return (directions_cam @ camera.R).reshape(camera.height, camera.width, 3)  # R^T d for each row d


def render_normal_maps(mesh: Mesh, cameras: Sequence[Camera]) -> tuple[np.ndarray, np.ndarray]:
    """Per-view normal maps of `mesh`: (normals (V, H, W, 3) float32, masks (V, H, W) bool).

    normals[v, y, x] is the unit normal of the first triangle hit by the ray through pixel (x, y) of
    cameras[v], in that camera's OpenCV frame (x right, y down, z forward: a face towards the camera has
    z < 0), oriented as the triangle is wound (counter-clockwise = outward), so a back face seen through a
    hole keeps its away-facing normal. masks[v, y, x] is True where a ray hits; normals are 0 elsewhere.
    All cameras must share one image size.
    """
    import open3d as o3d

    if len(cameras) == 0:
        raise ValueError("cameras: expected at least one camera, got none")
    sizes = {camera.image_size for camera in cameras}
    if len(sizes) != 1:
        raise ValueError(f"cameras: expected one image size (width, height) for all views, got {sorted(sizes)}")
    origin = 0.5 * (mesh.vertices.min(axis=0) + mesh.vertices.max(axis=0))  # float32 precision near the mesh
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor(np.ascontiguousarray(mesh.vertices - origin, dtype=np.float32)),
        o3d.core.Tensor(np.ascontiguousarray(mesh.faces, dtype=np.uint32)),
    )
    normals, masks = [], []
    for camera in cameras:
        directions = pixel_rays(camera)
        starts = np.broadcast_to(camera.center - origin, directions.shape)
        rays = np.ascontiguousarray(np.concatenate([starts, directions], axis=-1), dtype=np.float32)
        hits = scene.cast_rays(o3d.core.Tensor(rays))
        mask = np.isfinite(hits["t_hit"].numpy())
        normal_cam = hits["primitive_normals"].numpy() @ camera.R.T.astype(np.float32)  # R n for each pixel
        normals.append(np.where(mask[..., None], normal_cam, 0.0).astype(np.float32))
        masks.append(mask)
    return np.stack(normals), np.stack(masks)
