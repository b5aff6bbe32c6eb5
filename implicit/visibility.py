"""Views that disagree alone: where one view's mask says background over a part of the body that most other views
see inside the person's mask, that view is taken to be blocked there (by a prop, a pillar, anything the masks do
not name), not to show empty space. Those pixels become "unobserved" (neither carved nor background) for the
visual hull and the network, so one blocked view cannot cut a hole through a person that the others see.

    extra = disputed_pixels(cameras, person_masks, unobserved, body_vertices, body_faces)   # V (H_v, W_v) bool

A body part that sticks out of the person's silhouette in many views (a fitted body too wide, misplaced) has
little support and is carved as before; only a part that at least `min_support` (half) of the views observing it
see inside the mask (and at least two views), and that lies inside the body's own outline in the disagreeing
view, is protected there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from calibration.camera import Camera


def _lookup(mask: np.ndarray, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inside the image, mask value there) for (N, 2) pixel coordinates (nearest pixel)."""
    height, width = mask.shape
    cols, rows = np.round(pixels[:, 0]).astype(np.int64), np.round(pixels[:, 1]).astype(np.int64)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    value = np.zeros(len(pixels), bool)
    value[inside] = mask[rows[inside], cols[inside]]
    return inside, value


def _pixels(camera: Camera, depth: np.ndarray, metres: float) -> int:
    """`metres` at the median positive `depth` of the body in `camera`'s image, whole pixels (rounded up)."""
    ahead = depth[depth > 0]
    if not len(ahead) or metres <= 0:
        return 0
    return int(math.ceil(float(camera.K[0, 0]) * metres / float(np.median(ahead))))


def _grown(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask` dilated by a disc of `radius` pixels."""
    if radius <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def _silhouette(pixels: np.ndarray, faces: np.ndarray, depth: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the body's triangles in front of the camera, filled."""
    out = np.zeros(shape, np.uint8)
    front = faces[(depth[faces] > 0).all(axis=1)]
    if len(front):
        cv2.fillPoly(out, list(np.round(pixels[front] * 16).astype(np.int32)), 1, lineType=cv2.LINE_8, shift=4)
    return out.astype(bool)


def _shrunk(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask` eroded by a disc of `radius` pixels."""
    if radius <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.erode(mask.astype(np.uint8), kernel).astype(bool)


def disputed_pixels(
    cameras: Sequence[Camera],
    person_masks: Sequence[np.ndarray],
    unobserved: Sequence[np.ndarray],
    vertices: np.ndarray,
    faces: np.ndarray,
    min_support: float = 0.5,
    margin_m: float = 0.04,
    tolerance_m: float = 0.03,
) -> list[np.ndarray]:
    """Per view, the pixels where that view alone says background over the body (module docstring).

    Args:
        cameras: V cameras; person_masks, unobserved: V (H_v, W_v) bool each.
        vertices: (N, 3) the person's body vertices, world metres; faces: (F, 3) int.
        min_support: share of the views observing a vertex (in the image, not unobserved there) that must see it
            inside the person's mask for the other views to count as blocked there.
        margin_m: the protected region is the disputed body triangles grown by this much (clothing beyond the
            body), metres, converted to pixels at the body's depth in each view.
        tolerance_m: a vertex this close to the mask (metres at the body's depth) counts as inside it, and only a
            vertex at least this far inside the body's own outline in a view can be disputed there, so a fitted body
            that is too wide or misplaced (its outline sticks out of the mask) does not count as disagreement.
    Returns:
        V (H_v, W_v) bool arrays, True where the view is taken to be blocked.
    """
    vertices = np.asarray(vertices, np.float64)
    num_views = len(cameras)
    pixels, depth, observed, inside_mask, interior = [], [], [], [], []
    for camera, mask, hidden in zip(cameras, person_masks, unobserved):
        uv = camera.project(vertices)
        z = camera.world_to_camera(vertices)[:, 2]
        tolerance = _pixels(camera, z, tolerance_m)
        in_image, in_mask = _lookup(_grown(np.asarray(mask, bool), tolerance), uv)
        _, is_hidden = _lookup(np.asarray(hidden, bool), uv)
        _, inner = _lookup(_shrunk(_silhouette(uv, faces, z, np.shape(mask)), tolerance), uv)
        pixels.append(uv)
        depth.append(z)
        observed.append(in_image & (z > 0) & ~is_hidden)
        inside_mask.append(in_mask & (z > 0))
        interior.append(inner)
    observed, inside_mask, interior = np.stack(observed), np.stack(inside_mask), np.stack(interior)  # (V, N)
    support = (observed & inside_mask).sum(0)
    needed = np.maximum(2, np.ceil(min_support * observed.sum(0)))
    disputed = observed & interior & ~inside_mask & (support >= needed)[None]  # (V, N)
    result = []
    for v in range(num_views):
        camera, mask = cameras[v], np.asarray(person_masks[v], bool)
        triangles = faces[disputed[v][faces].all(axis=1)]
        out = _grown(_silhouette(pixels[v], triangles, depth[v], mask.shape), _pixels(camera, depth[v], margin_m))
        result.append(out & ~mask)
    return result
