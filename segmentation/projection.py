"""The fitted bodies seen from every view: each person's depth, and per-pixel distances to each body in metres.

Each person is rendered alone (`render.render`, one mesh per call), so a person's whole silhouette is known
even where someone else hides it; the z-buffered view of everyone is the per-pixel argmin of these depths.
Distances are measured in the image and converted to metres at the depth of the nearest body pixel
(pixels per metre = focal / depth), which makes every margin adapt to how far the person is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from calibration.camera import Camera
from render import Mesh, render
from segmentation.errors import SegmentationError


def render_person_depths(meshes: Sequence[Mesh], cameras: Sequence[Camera]) -> np.ndarray:
    """(P, V, H, W) float32 camera z (metres) of each person rendered alone; +inf where the body is absent."""
    if not meshes:
        raise SegmentationError("render_person_depths: argument 'meshes': expected at least one body, got none")
    return np.stack([render([mesh], list(cameras)).depth for mesh in meshes])


def cropped(camera: Camera, rows: slice, cols: slice) -> Camera:
    """`camera` seeing only the pixels `rows` x `cols` of its image (principal point shifted; same distortion)."""
    K = camera.K.copy()
    K[0, 2] -= cols.start
    K[1, 2] -= rows.start
    return camera.replace(K=K, width=cols.stop - cols.start, height=rows.stop - rows.start)


def body_boxes(camera: Camera, bodies: Sequence[Mesh]) -> np.ndarray:
    """(P, 5) float64 per body: x0, y0, x1, y1 (pixel bounds of its vertices in front of `camera`, clipped to the
    image) and the smallest vertex depth (metres); a row of NaN for a body wholly behind the camera. Every
    rendered pixel of a body lies within its box (faces are drawn between their vertices)."""
    boxes = np.full((len(bodies), 5), np.nan)
    for p, body in enumerate(bodies):
        vertices = np.asarray(body.vertices, float)
        depth = camera.world_to_camera(vertices)[:, 2]
        front = depth > 1e-9
        if not front.any():
            continue
        pixels = camera.project(vertices[front])
        low = np.clip(pixels.min(axis=0), 0.0, [camera.width - 1.0, camera.height - 1.0])
        high = np.clip(pixels.max(axis=0), 0.0, [camera.width - 1.0, camera.height - 1.0])
        boxes[p] = (*low, *high, depth[front].min())
    return boxes


def focal_px(camera: Camera) -> float:
    """Mean focal length of `camera` in pixels (converts image distances to metres at a depth)."""
    return float(0.5 * (camera.K[0, 0] + camera.K[1, 1]))


def argmin_people(values: np.ndarray) -> np.ndarray:
    """(P, H, W) -> (H, W) int32 index of the smallest value over people (first on ties); a loop over the few
    people is much faster than numpy's strided argmin over axis 0."""
    best, smallest = np.zeros(values.shape[1:], np.int32), values[0].copy()
    for p in range(1, values.shape[0]):
        better = values[p] < smallest
        best[better] = p
        smallest[better] = values[p][better]
    return best


@dataclass(frozen=True)
class BodyFields:
    """The bodies of one view, as per-pixel fields (P people, H x W pixels).

    Attributes:
        depth: (P, H, W) float32 depth of person p rendered alone, metres; +inf outside its silhouette.
        near_depth: (P, H, W) float32 depth of the nearest pixel of person p's silhouette (= depth inside).
        distance: (P, H, W) float32 image distance to person p's silhouette converted to metres at
            `near_depth` (0 inside); +inf everywhere when p is not in the view.
        focal: focal length in pixels used for the conversion.
    """

    depth: np.ndarray
    near_depth: np.ndarray
    distance: np.ndarray
    focal: float

    @property
    def num_people(self) -> int:
        return int(self.depth.shape[0])

    def visible(self) -> np.ndarray:
        """(H, W) int32 z-buffered body index map: p of the nearest body, -1 where no body projects."""
        return np.where(np.isfinite(self.depth).any(axis=0), argmin_people(self.depth), -1)

    def within(self, margin: float, min_pixels: float = 0.0) -> np.ndarray:
        """(P, H, W) bool: pixels within `margin` metres of person p's silhouette (a dilation adaptive to depth),
        and at least within `min_pixels` pixels."""
        return self.distance <= np.maximum(margin, min_pixels * self.near_depth / self.focal)


def body_fields(depth: np.ndarray, focal: float) -> BodyFields:
    """Distance fields of P people in one view.

    Args:
        depth: (P, H, W) per-person depths from `render_person_depths` (one view), +inf where absent.
        focal: focal length in pixels.
    """
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 3:
        raise SegmentationError(f"body_fields: argument 'depth': expected (P, H, W), got {depth.shape}")
    near = np.full(depth.shape, np.inf, np.float32)
    distance = np.full(depth.shape, np.inf, np.float32)
    for p, person in enumerate(depth):
        inside = np.isfinite(person)
        if not inside.any():
            continue
        pixels, (rows, cols) = ndimage.distance_transform_edt(~inside, return_indices=True)
        near[p] = person[rows, cols]
        distance[p] = pixels * near[p] / focal
    return BodyFields(depth=depth, near_depth=near, distance=distance, focal=float(focal))
