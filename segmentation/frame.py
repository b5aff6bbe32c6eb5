"""Segment one frame in every view: foreground from the chosen source, then the split into people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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
