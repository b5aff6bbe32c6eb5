"""Normal consistency between two stacks of rendered normal maps, and the normal maps themselves (from the
project's one rasterizer, `render.render`; any `NormalRenderer` can replace it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from calibration.camera import Camera
from render import Mesh, RenderSettings, render

logger = logging.getLogger(__name__)

NormalRenderer = Callable[[Mesh, Sequence[Camera]], tuple[np.ndarray, np.ndarray]]
"""(mesh, cameras) -> (normals (V, H, W, 3), masks (V, H, W) bool), camera-frame normals; see render_normal_maps."""

NORMAL_RENDER_SETTINGS = RenderSettings(cull_backfaces=False)
"""Back faces are drawn: a back face seen through a hole shows its away-facing normal and is penalised."""


def render_normal_maps(mesh: Mesh, cameras: Sequence[Camera]) -> tuple[np.ndarray, np.ndarray]:
    """Per-view normal maps of `mesh` from `render.render`: (normals (V, H, W, 3) float32, masks (V, H, W) bool).

    normals[v, y, x] is the unit normal of the nearest surface at the centre of pixel (x, y) of cameras[v], in
    that camera's OpenCV frame (x right, y down, z forward: a face towards the camera has z < 0). It is the
    renderer's smooth normal: the mesh's `normals` if it has them, else its area-weighted vertex normals,
    interpolated perspective-correctly. These follow the winding (counter-clockwise = outward) and are never
    turned towards the camera, so an inside-out mesh, or a back face seen through a hole, shows normals
    pointing away (z > 0). masks[v, y, x] is True where a face covers the pixel; normals are 0 elsewhere.
    All cameras must share one image size (else `render.RenderError`, a ValueError). Lens distortion as in
    `render`: vertices exact, triangle edges straight in the distorted image.

    Example:
        >>> normals, masks = render_normal_maps(load_mesh("gt.ply"), rig_cameras)   # (V, H, W, 3), (V, H, W)
    """
    output = render(mesh, cameras, NORMAL_RENDER_SETTINGS)
    return output.normal, output.mask


@dataclass(frozen=True)
class NormalMetrics:
    """Agreement of two normal-map stacks over the pixels both cover."""

    mean_cosine: float
    """Mean cosine between the two normals (1 = identical; NaN when no pixel is covered by both)."""
    mean_angle_deg: float
    """Mean angle between the two normals, degrees (0 = identical; NaN when no pixel is covered by both)."""
    pixels_compared: int
    """Number of pixels (over all views) covered by both masks."""


def normal_consistency(
    normals_rec: np.ndarray, masks_rec: np.ndarray, normals_gt: np.ndarray, masks_gt: np.ndarray
) -> NormalMetrics:
    """Mean cosine / angle between normals (V, H, W, 3) over the pixels where both masks (V, H, W) are True.

    Both stacks must be in the same frame (e.g. each view's camera frame). Normals are normalised here, so
    non-unit inputs are fine; a zero-length normal inside a mask counts as cosine 0 (90 degrees).
    """
    normals_rec, normals_gt = np.asarray(normals_rec), np.asarray(normals_gt)
    masks_rec, masks_gt = np.asarray(masks_rec, dtype=bool), np.asarray(masks_gt, dtype=bool)
    if normals_rec.ndim != 4 or normals_rec.shape[-1] != 3:
        raise ValueError(f"normals_rec: expected shape (V, H, W, 3), got {normals_rec.shape}")
    for name, array, expected in (
        ("normals_gt", normals_gt, normals_rec.shape),
        ("masks_rec", masks_rec, normals_rec.shape[:3]),
        ("masks_gt", masks_gt, normals_rec.shape[:3]),
    ):
        if array.shape != expected:
            raise ValueError(f"{name}: expected shape {expected} (from normals_rec), got {array.shape}")
    both = masks_rec & masks_gt
    count = int(both.sum())
    if count == 0:
        logger.warning("normal_consistency: no pixel is covered by both masks; returning NaN")
        return NormalMetrics(float("nan"), float("nan"), 0)
    a = normals_rec[both].astype(np.float64)  # (P, 3) for the P covered pixels
    b = normals_gt[both].astype(np.float64)
    lengths = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cosine = np.clip(np.einsum("pi,pi->p", a, b) / np.maximum(lengths, np.finfo(np.float64).tiny), -1.0, 1.0)
    return NormalMetrics(
        mean_cosine=float(cosine.mean()),
        mean_angle_deg=float(np.degrees(np.arccos(cosine)).mean()),
        pixels_compared=count,
    )


def evaluate_normals(
    rec: Mesh, gt: Mesh, cameras: Sequence[Camera], renderer: NormalRenderer = render_normal_maps
) -> NormalMetrics:
    """Render both meshes into `cameras` with `renderer` and compare with `normal_consistency`.

    Meshes and cameras are in world metres, unscaled: normals do not change under the 1.80 m scaling.
    """
    normals_rec, masks_rec = renderer(rec, cameras)
    normals_gt, masks_gt = renderer(gt, cameras)
    return normal_consistency(normals_rec, masks_rec, normals_gt, masks_gt)
