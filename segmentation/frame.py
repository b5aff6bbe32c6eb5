"""Segment one frame in every view: foreground from the chosen source, then the split into people.

Views are segmented one at a time, each at its own image size (a rig may mix sizes and orientations), at a
working resolution (`SegmentConfig.working_max_side`) and, apart from the whole-image sources' foreground,
only inside the box around the people: the bodies' projections grown by the stage's largest margin
(`SegmentConfig.margin`) converted to pixels at the nearest body's depth. Nothing outside that box can belong
to a person, so the bodies are rendered, GrabCut run and the foreground split there only.
"""

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
from segmentation.projection import body_boxes, body_fields, cropped, focal_px, render_person_depths


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

    @property
    def margin(self) -> float:
        """The largest distance (metres) from a body at which any step looks for its pixels."""
        split, fg = self.split, self.foreground
        return max(split.reach, split.core_margin, split.occlusion_margin, fg.search_margin, fg.probable_margin)


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
    """The segmentation of one frame (P people, V views; view v is H_v x W_v, the size of its camera).

    Attributes:
        person_ids: (P,) track ids; index p in the maps below is person `person_ids[p]`.
        index: V (H_v, W_v) int32 index maps: -1 background, p person.
        occluded: V (P, H_v, W_v) bool: person p is hidden by another person there.
        foreground: V (H_v, W_v) bool foreground the split started from.
    """

    person_ids: list[int]
    index: list[np.ndarray]
    occluded: list[np.ndarray]
    foreground: list[np.ndarray]


@dataclass(frozen=True)
class ViewInputs:
    """What the source needs from one view, each array of the camera's size (or None when not needed)."""

    image: np.ndarray | None = None
    mask: np.ndarray | None = None
    plate: np.ndarray | None = None


NEEDS = {"masks": ("masks",), "background": ("images", "plates"), "chroma": ("images",), "grabcut": ("images",)}
"""The FrameInputs fields each foreground source reads."""

GRABCUT_BORDER_PX = 8
"""Sure-background border GrabCut keeps around its searched region (pixels)."""


def view_inputs(inputs: FrameInputs, source: str, view: int, camera: Camera) -> ViewInputs:
    """The arrays of view `view` that `source` needs, checked to be present and of the camera's size."""
    found = {}
    for name in NEEDS[source]:
        values = getattr(inputs, name)
        value = None if values is None or view >= len(values) else values[view]
        if value is None:
            raise SegmentationError(f"segment_frame: source {source!r} needs '{name}' for view {view}, got none")
        value = np.asarray(value)
        if value.shape[:2] != (camera.height, camera.width):
            shape = f"{value.shape[1]}x{value.shape[0]}" if value.ndim >= 2 else str(value.shape)
            raise SegmentationError(f"segment_frame: view {view} ({camera.name}): {name[:-1]} is {shape}, "
                                    f"the camera is {camera.width}x{camera.height}")  # fmt: skip
        found[name[:-1]] = value
    return ViewInputs(**found)


def image_foreground(source: str, inputs: ViewInputs, chroma, config: ForegroundConfig) -> np.ndarray:
    """(H, W) bool foreground of one view from a whole-image source ("masks", "background" or "chroma")."""
    if source == "masks":
        return mask_from_file_image(inputs.mask)
    if source == "background":
        return background_difference(inputs.image, inputs.plate, config)
    return chroma_key(inputs.image, chroma, config)


def segment_frame(
    cameras: Sequence[Camera], bodies: Sequence[Mesh], person_ids: Sequence[int], source: str, inputs: FrameInputs,
    config: SegmentConfig = SegmentConfig(),
) -> FrameSegmentation:  # fmt: skip
    """Foreground per view from `source`, split into the people whose fitted `bodies` are given.

    Args:
        cameras: V cameras, each of its own image size.
        bodies: P body meshes (world, metres) of this frame, in the order of `person_ids`.
        person_ids: P distinct track ids.
        source: "masks", "background", "chroma" or "grabcut" (see `segmentation.foreground`).
        inputs: per-view data the source needs, each array of its camera's size.
        config: stage settings.
    """
    person_ids = [int(i) for i in person_ids]
    if len(person_ids) != len(bodies) or len(set(person_ids)) != len(person_ids):
        raise SegmentationError(
            f"segment_frame: expected one distinct track id per body, got ids {person_ids} for {len(bodies)} bodies"
        )
    if source not in SOURCES:
        raise SegmentationError(f"segment_frame: argument 'source': expected one of {SOURCES}, got {source!r}")
    if source == "chroma" and inputs.chroma is None:
        raise SegmentationError("segment_frame: source 'chroma' needs a key colour (FrameInputs.chroma), got none")
    result = FrameSegmentation(person_ids=person_ids, index=[], occluded=[], foreground=[])
    for v, camera in enumerate(cameras):
        index, occluded, foreground = segment_view(camera, bodies, source, view_inputs(inputs, source, v, camera),
                                                   inputs.chroma, config)  # fmt: skip
        result.index.append(index)
        result.occluded.append(occluded)
        result.foreground.append(foreground)
    return result


def segment_view(camera: Camera, bodies: Sequence[Mesh], source: str, inputs: ViewInputs, chroma, config: SegmentConfig
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One view: index map (H, W) int32, occlusion (P, H, W) bool, foreground (H, W) bool at the camera's size,
    segmented at the working resolution (`working_scale`) and brought back."""
    scale = working_scale(camera, bodies, config)
    if scale == 1.0:
        return _segment_at(camera, bodies, source, inputs, chroma, config)
    size = (max(round(camera.width * scale), 1), max(round(camera.height * scale), 1))
    coarse = _segment_at(camera.resized(*size), bodies, source, _resized(inputs, size), chroma, config)
    return _full_resolution(coarse, source, inputs, (camera.height, camera.width), config.foreground.guided_eps)


def working_scale(camera: Camera, bodies: Sequence[Mesh], config: SegmentConfig) -> float:
    """The factor (<= 1) from full to working resolution of one view: `config.working_max_side` over its longer
    side, raised so that the smallest projected body stays `config.min_person_px` tall (1 without bodies in view)."""
    scale = min(1.0, config.working_max_side / max(camera.width, camera.height))
    boxes = body_boxes(camera, bodies)
    heights = boxes[:, 3] - boxes[:, 1]
    heights = heights[heights > 0]  # NaN (behind the camera) compares False
    if len(heights):
        scale = max(scale, min(1.0, config.min_person_px / heights.min()))
    return scale


def people_box(camera: Camera, bodies: Sequence[Mesh], margin: float) -> tuple[slice, slice] | None:
    """(rows, cols) of the image box holding every pixel within `margin` metres of a body (plus GrabCut's border),
    None when no body is in front of the camera."""
    boxes = body_boxes(camera, bodies)
    boxes = boxes[np.isfinite(boxes[:, 0])]
    if not len(boxes):
        return None
    pad = margin * focal_px(camera) / boxes[:, 4].min() + GRABCUT_BORDER_PX + 2
    x0, y0 = (max(int(np.floor(boxes[:, i].min() - pad)), 0) for i in (0, 1))
    x1 = min(int(np.ceil(boxes[:, 2].max() + pad)) + 1, camera.width)
    y1 = min(int(np.ceil(boxes[:, 3].max() + pad)) + 1, camera.height)
    return slice(y0, y1), slice(x0, x1)


def _segment_at(camera: Camera, bodies: Sequence[Mesh], source: str, inputs: ViewInputs, chroma,
                config: SegmentConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """`segment_view` at the camera's own size: the bodies rendered, GrabCut run and the split made in `people_box`."""
    height, width = camera.height, camera.width
    index = np.full((height, width), -1, np.int32)
    occluded = np.zeros((len(bodies), height, width), bool)
    if source == "grabcut":
        foreground = np.zeros((height, width), bool)
    else:
        foreground = image_foreground(source, inputs, chroma, config.foreground)
    box = people_box(camera, bodies, config.margin)
    if box is None:
        return index, occluded, foreground
    focal = focal_px(camera)
    fields = body_fields(render_person_depths(bodies, [cropped(camera, *box)])[:, 0], focal)
    if source == "grabcut":
        foreground[box] = grabcut_foreground(inputs.image[box], fields, focal, config.foreground)
    index[box], occluded[(slice(None), *box)] = split_foreground(foreground[box], fields, config.split)
    return index, occluded, foreground


def _resized(inputs: ViewInputs, size: tuple[int, int]) -> ViewInputs:
    """`inputs` resampled to `size` (width, height): images and plates by area averaging, masks as foreground
    fractions >= 0.5."""
    image, plate = (None if a is None else cv2.resize(a, size, interpolation=cv2.INTER_AREA) for a in (inputs.image, inputs.plate))
    mask = None
    if inputs.mask is not None:
        fraction = cv2.resize(mask_from_file_image(inputs.mask).astype(np.float32), size, interpolation=cv2.INTER_AREA)
        mask = (fraction >= 0.5).astype(np.uint8)
    return ViewInputs(image=image, mask=mask, plate=plate)


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """(rows, cols) of the bounding box of `mask` (H, W) grown by `margin` pixels; None when it is empty."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return None
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, mask.shape[0])),
            slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, mask.shape[1])))  # fmt: skip


def _scaled_box(box: tuple[slice, slice], small: tuple[int, int], shape: tuple[int, int]) -> tuple[slice, slice]:
    """A box of an image of size `small` (h, w) -> the box covering the same picture area at size `shape`."""
    return tuple(slice(b.start * full // part, -(-b.stop * full // part)) for b, part, full in zip(box, small, shape))


def _nearest(maps: np.ndarray, shape: tuple[int, int], box: tuple[slice, slice]) -> np.ndarray:
    """(..., h, w) -> (..., box rows, box cols): the pixels `box` of `maps` brought to `shape` (H, W) by nearest
    sampling at the same picture position (pixel centres aligned)."""
    rows, cols = (np.clip(np.floor((np.arange(b.start, b.stop) + 0.5) * part / full).astype(int), 0, part - 1)
                  for b, part, full in zip(box, maps.shape[-2:], shape))  # fmt: skip
    return maps[..., rows[:, None], cols[None, :]]


def _full_resolution(coarse: tuple[np.ndarray, np.ndarray, np.ndarray], source: str, inputs: ViewInputs,
                     shape: tuple[int, int], eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One view's working-resolution segmentation brought to `shape` (H, W): the foreground from the given mask
    (source "masks") or refined by a guided filter of the image (`upsample_mask`, inside the box of the coarse
    foreground); people and occlusion by nearest sampling inside the box of the coarse people, where foreground
    pixels without a person at the coarse size take the nearest coarse person's label."""
    coarse_index, coarse_occluded, coarse_foreground = coarse
    small = coarse_index.shape
    index = np.full(shape, -1, np.int32)
    occluded = np.zeros((coarse_occluded.shape[0], *shape), bool)
    if source == "masks":
        foreground = mask_from_file_image(inputs.mask)
    else:
        foreground = np.zeros(shape, bool)
        if (box := _box(coarse_foreground, 2)) is not None:
            full = _scaled_box(box, small, shape)
            foreground[full] = upsample_mask(coarse_foreground[box], inputs.image[full], eps)
    box = _box((coarse_index >= 0) | coarse_occluded.any(axis=0), 2)
    if box is None:
        return index, occluded, foreground
    nearest_label = coarse_index.copy()
    if (nearest_label[box] < 0).any():
        _, (rows, cols) = ndimage.distance_transform_edt(coarse_index[box] < 0, return_indices=True)
        nearest_label[box] = coarse_index[box][rows, cols]
    full = _scaled_box(box, small, shape)
    index[full] = np.where(foreground[full], _nearest(nearest_label, shape, full), -1)
    occluded[(slice(None), *full)] = _nearest(coarse_occluded, shape, full)
    return index, occluded, foreground
