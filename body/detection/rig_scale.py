"""What the rig says about where people are and how large they look: the capture volume's centre, the tile size
of each view, and the boxes where a person triangulated in 3D must appear in a view.

Capture volume rule: its centre is the least-squares intersection of the cameras' optical axes (the point
nearest, in summed squared distance, to every axis). A rig whose axes are (nearly) parallel or whose
intersection lies behind a camera has no such centre (None); its views are then detected without tiles.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from calibration.camera import Camera

logger = logging.getLogger(__name__)

PERSON_HEIGHT_M = 1.8
"""Height of the person the tile size is made for, metres."""
TILE_PER_PERSON = 2.0
"""Tile side in person heights: with tiles overlapping by half a tile, a person up to half a tile tall lies
whole in some tile."""
MIN_TILE_PX = 256
"""Smallest tile side, pixels."""
MIN_VISIBLE_FRACTION = 0.5
"""A person is expected in a view when at least this fraction of its triangulated joints projects inside it."""


def capture_volume_center(cameras: Sequence[Camera], max_condition: float = 1e6) -> np.ndarray | None:
    """(3,) world point nearest to all optical axes (least squares), metres; None when the axes do not meet in
    front of every camera (fewer than two cameras, parallel axes, or a centre behind a camera)."""
    if len(cameras) < 2:
        return None
    system, right = np.zeros((3, 3)), np.zeros(3)
    for camera in cameras:
        axis = camera.viewing_direction
        projector = np.eye(3) - np.outer(axis, axis)  # removes the component along the axis
        system += projector
        right += projector @ camera.center
    if np.linalg.cond(system) > max_condition:
        return None
    center = np.linalg.solve(system, right)
    if any(camera.world_to_camera(center)[2] <= 0 for camera in cameras):
        return None
    return center


def person_height_px(camera: Camera, point: np.ndarray, height_m: float = PERSON_HEIGHT_M) -> float:
    """Pixels spanned vertically by ``height_m`` metres at the depth of world ``point`` (3,) in ``camera``."""
    depth = float(camera.world_to_camera(point)[2])
    return float(camera.K[1, 1] * height_m / depth)


def tile_sizes(cameras: Sequence[Camera]) -> dict[str, int]:
    """Per camera name, the tile side (pixels) for people at the capture volume's centre: TILE_PER_PERSON times
    the height of a PERSON_HEIGHT_M person there, at least MIN_TILE_PX; 0 (no tiles) when a tile would cover
    the whole image or the rig has no capture volume centre."""
    center = capture_volume_center(cameras)
    if center is None:
        logger.warning("the cameras' optical axes do not meet in front of them; detecting without tiles")
        return {camera.name: 0 for camera in cameras}
    sizes = {}
    for camera in cameras:
        tile = max(int(round(TILE_PER_PERSON * person_height_px(camera, center))), MIN_TILE_PX)
        sizes[camera.name] = 0 if tile >= max(camera.width, camera.height) else tile
    return sizes


def expected_box(camera: Camera, keypoints: np.ndarray, confidence: np.ndarray) -> np.ndarray | None:
    """(4,) pixel box ``[x0, y0, x1, y1]`` of a 3D person's joints in ``camera``, or None when fewer than
    MIN_VISIBLE_FRACTION of its joints (confidence > 0) project inside the image.

    Args:
        keypoints: (K, 3) world metres.
        confidence: (K,); joints with 0 are ignored.
    """
    joints = np.asarray(keypoints)[np.asarray(confidence) > 0]
    if len(joints) == 0:
        return None
    visible = camera.sees(joints)
    if visible.mean() < MIN_VISIBLE_FRACTION:
        return None
    pixels = camera.project(joints[visible])
    box = np.concatenate([pixels.min(axis=0), pixels.max(axis=0)])
    box[2:] = np.maximum(box[2:], box[:2] + 1.0)
    return box


def box_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of boxes ``a`` and ``b`` (4,) ``[x0, y0, x1, y1]`` over the smaller one's area, in [0, 1]."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(width * height / max(smaller, 1e-9))
