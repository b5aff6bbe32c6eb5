"""Segment one frame in every view: foreground from the chosen source, then the split into people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage

from calibration.camera import Camera
from render import Mesh
from segmentation.errors import SegmentationError
from segmentation.foreground import (
    SOURCES,
    ForegroundConfig,
    background_difference,
    chroma_key,
    grabcut_foreground,
    mask_from_file_image,
    upsample_mask,
)
from segmentation.instances import SplitConfig, split_foreground
from segmentation.projection import BodyFields, body_fields, focal_px, render_person_depths


@dataclass(frozen=True)
class SegmentConfig:
    """Settings of the segmentation stage."""

    split: SplitConfig = field(default_factory=SplitConfig)
    """How foreground is split into people."""
    foreground: ForegroundConfig = field(default_factory=ForegroundConfig)
    """Thresholds of the image-based foreground sources."""
    working_max_side: int = 960
    """Views larger than this (longer side, pixels) are segmented at a working resolution of this size and brought
    back to full resolution: foreground edges refined by a guided filter of the image (or the given masks as they
    are), people by the nearest label. The cost of every step grows with the pixel count."""
    min_person_px: int = 240
    """...unless that would make the smallest projected body (its height in the view where it looks smallest)
    shorter than this many pixels: the working resolution is then only as small as this allows."""


@dataclass(frozen=True)
class FrameInputs:
    """What the chosen foreground source needs, per view (V views, H x W); unused entries may be None.

    Attributes:
        images: V (H, W, 3) uint8 RGB images (needed by "background", "chroma", "grabcut").
        masks: V mask images of the capture, any non-zero pixel foreground (needed by "masks").
        plates: V (H, W, 3) uint8 RGB empty-scene images (needed by "background").
        chroma: key colour RGB 0-255 (needed by "chroma").
    """

    images: Sequence[np.ndarray | None] | None = None
    masks: Sequence[np.ndarray | None] | None = None
    plates: Sequence[np.ndarray | None] | None = None
    chroma: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class FrameSegmentation:
    """The segmentation of one frame (P people, V views of H x W).

    Attributes:
        person_ids: (P,) track ids; index p in the maps below is person `person_ids[p]`.
        index: (V, H, W) int32 index maps: -1 background, p person.
        occluded: (P, V, H, W) bool: person p is hidden by another person there.
        foreground: (V, H, W) bool foreground the split started from.
    """

    person_ids: list[int]
    index: np.ndarray
    occluded: np.ndarray
    foreground: np.ndarray


def _needed(inputs: FrameInputs, name: str, source: str, view: int):
    values = getattr(inputs, name)
    value = None if values is None else values[view]
    if value is None:
        raise SegmentationError(f"segment_frame: source {source!r} needs '{name}' for view {view}, got none")
    return value


def view_foreground(source: str, view: int, inputs: FrameInputs, fields: BodyFields, focal: float,
                    config: ForegroundConfig) -> np.ndarray:  # fmt: skip
    """(H, W) bool foreground of view `view` from `source` (one of `foreground.SOURCES`)."""
    if source == "masks":
        return mask_from_file_image(_needed(inputs, "masks", source, view))
    image = _needed(inputs, "images", source, view)
    if source == "background":
        return background_difference(image, _needed(inputs, "plates", source, view), config)
    if source == "chroma":
        if inputs.chroma is None:
            raise SegmentationError("segment_frame: source 'chroma' needs a key colour (FrameInputs.chroma), got none")
        return chroma_key(image, inputs.chroma, config)
    if source == "grabcut":
        return grabcut_foreground(image, fields, focal, config)
    raise SegmentationError(f"segment_frame: argument 'source': expected one of {SOURCES}, got {source!r}")


def segment_frame(
    cameras: Sequence[Camera], bodies: Sequence[Mesh], person_ids: Sequence[int], source: str, inputs: FrameInputs,
    config: SegmentConfig = SegmentConfig(),
) -> FrameSegmentation:  # fmt: skip
    """Foreground per view from `source`, split into the people whose fitted `bodies` are given.

    Args:
        cameras: V cameras of one image size.
        bodies: P body meshes (world, metres) of this frame, in the order of `person_ids`.
        person_ids: P distinct track ids.
        source: "masks", "background", "chroma" or "grabcut" (see `segmentation.foreground`).
        inputs: per-view data the source needs.
        config: stage settings.
    """
    person_ids = [int(i) for i in person_ids]
    if len(person_ids) != len(bodies) or len(set(person_ids)) != len(person_ids):
        raise SegmentationError(
            f"segment_frame: expected one distinct track id per body, got ids {person_ids} for {len(bodies)} bodies"
        )
    cameras = list(cameras)
    height, width = cameras[0].height, cameras[0].width
    scale = working_scale(cameras, bodies, config)
    if scale == 1.0:
        return _segment_views(cameras, bodies, person_ids, source, inputs, config)
    size = (max(round(width * scale), 1), max(round(height * scale), 1))
    small = [camera.resized(*size) for camera in cameras]
    coarse = _segment_views(small, bodies, person_ids, source, _resized_inputs(inputs, cameras, size), config)
    return _full_resolution(coarse, source, inputs, (height, width), config.foreground.guided_eps)


def working_scale(cameras: list[Camera], bodies: Sequence[Mesh], config: SegmentConfig) -> float:
    """The factor (<= 1) from full to working resolution: `config.working_max_side` over the longer image side,
    raised so that the smallest projected body stays `config.min_person_px` tall (1 without bodies in view)."""
    scale = min(1.0, config.working_max_side / max(cameras[0].width, cameras[0].height))
    heights = []
    for camera in cameras:
        for body in bodies:
            vertices = np.asarray(body.vertices, float)
            rows = camera.project(vertices)[camera.world_to_camera(vertices)[:, 2] > 1e-9, 1]
            rows = np.clip(rows, 0.0, camera.height - 1.0)
            if len(rows) and rows.max() > rows.min():
                heights.append(rows.max() - rows.min())
    if heights:
        scale = max(scale, min(1.0, config.min_person_px / min(heights)))
    return scale


def _segment_views(cameras: list[Camera], bodies: Sequence[Mesh], person_ids: list[int], source: str,
                   inputs: FrameInputs, config: SegmentConfig) -> FrameSegmentation:  # fmt: skip
    """`segment_frame` at the cameras' own resolution."""
    height, width = cameras[0].height, cameras[0].width
    num_people, num_views = len(bodies), len(cameras)
    index = np.full((num_views, height, width), -1, np.int32)
    occluded = np.zeros((num_people, num_views, height, width), bool)
    foreground = np.zeros((num_views, height, width), bool)
    depths = render_person_depths(bodies, cameras) if bodies else np.full((0, num_views, height, width), np.inf, np.float32)
    for v, camera in enumerate(cameras):
        focal = focal_px(camera)
        fields = body_fields(depths[:, v], focal)
        fg = view_foreground(source, v, inputs, fields, focal, config.foreground)
        if fg.shape != (height, width):
            raise SegmentationError(
                f"segment_frame: view {v} ({camera.name}): foreground is {fg.shape[1]}x{fg.shape[0]}, "
                f"the camera is {width}x{height}"
            )
        foreground[v] = fg
        if num_people:
            index[v], occluded[:, v] = split_foreground(fg, fields, config.split)
    return FrameSegmentation(person_ids=person_ids, index=index, occluded=occluded, foreground=foreground)


def _resized_inputs(inputs: FrameInputs, cameras: list[Camera], size: tuple[int, int]) -> FrameInputs:
    """`inputs` resampled to `size` (width, height): images and plates by area averaging, masks as foreground
    fractions >= 0.5. Each given array must have its camera's size (else SegmentationError naming the view)."""

    def resize(values, name: str, is_mask: bool):
        if values is None:
            return None
        out = []
        for v, (value, camera) in enumerate(zip(values, cameras)):
            if value is not None:
                if value.shape[:2] != (camera.height, camera.width):
                    raise SegmentationError(
                        f"segment_frame: view {v} ({camera.name}): {name} is {value.shape[1]}x{value.shape[0]}, "
                        f"the camera is {camera.width}x{camera.height}"
                    )
                value = mask_from_file_image(value).astype(np.float32) if is_mask else value
                value = cv2.resize(value, size, interpolation=cv2.INTER_AREA)
                value = (value >= 0.5).astype(np.uint8) if is_mask else value
            out.append(value)
        return out

    return FrameInputs(images=resize(inputs.images, "image", False), masks=resize(inputs.masks, "mask", True),
                       plates=resize(inputs.plates, "plate", False), chroma=inputs.chroma)  # fmt: skip


def _nearest(maps: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(..., h, w) -> (..., H, W) by nearest sampling at the same picture position (pixel centres aligned)."""
    rows = np.clip(np.floor((np.arange(shape[0]) + 0.5) * maps.shape[-2] / shape[0]).astype(int), 0, maps.shape[-2] - 1)
    cols = np.clip(np.floor((np.arange(shape[1]) + 0.5) * maps.shape[-1] / shape[1]).astype(int), 0, maps.shape[-1] - 1)
    return maps[..., rows[:, None], cols[None, :]]


def _full_resolution(coarse: FrameSegmentation, source: str, inputs: FrameInputs, shape: tuple[int, int],
                     eps: float) -> FrameSegmentation:  # fmt: skip
    """A working-resolution segmentation brought to `shape` (H, W): the foreground from the given masks (source
    "masks") or refined by a guided filter of each view's image (`upsample_mask`, inside the box of the coarse
    foreground); people by nearest sampling, foreground pixels left without a person taking the nearest label."""
    num_views, height, width = coarse.index.shape
    index = np.full((num_views, *shape), -1, np.int32)
    foreground = np.zeros((num_views, *shape), bool)
    for v in range(num_views):
        if source == "masks":
            foreground[v] = mask_from_file_image(inputs.masks[v])
        elif coarse.foreground[v].any():
            rows, cols = np.flatnonzero(coarse.foreground[v].any(1)), np.flatnonzero(coarse.foreground[v].any(0))
            y0, y1 = max(rows[0] - 2, 0), min(rows[-1] + 3, height)  # coarse box with a 2-pixel margin
            x0, x1 = max(cols[0] - 2, 0), min(cols[-1] + 3, width)
            Y0, Y1 = y0 * shape[0] // height, -(-y1 * shape[0] // height)  # the same box at full resolution
            X0, X1 = x0 * shape[1] // width, -(-x1 * shape[1] // width)
            foreground[v, Y0:Y1, X0:X1] = upsample_mask(coarse.foreground[v, y0:y1, x0:x1], inputs.images[v][Y0:Y1, X0:X1], eps)
        labels = _nearest(coarse.index[v], shape)
        index[v] = np.where(foreground[v], labels, -1)
        missing = foreground[v] & (labels < 0)
        if missing.any() and (labels >= 0).any():  # nearest label, searched in the box of the labels and the gaps
            rows, cols = np.flatnonzero((missing | (labels >= 0)).any(1)), np.flatnonzero((missing | (labels >= 0)).any(0))
            box = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
            _, (near_rows, near_cols) = ndimage.distance_transform_edt(labels[box] < 0, return_indices=True)
            filled = labels[box][near_rows, near_cols]
            index[v][box] = np.where(missing[box], filled, index[v][box])
    return FrameSegmentation(person_ids=coarse.person_ids, index=index, occluded=_nearest(coarse.occluded, shape),
                             foreground=foreground)  # fmt: skip
