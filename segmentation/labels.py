"""Label maps and occlusion masks: the encoding on disk (docs/segmentation.md) and in memory.

Encoding (one PNG per camera and frame, ``RUN/masks/<cam>/<frame:06d>.png``):
    value 0 = background, value 1 + id = person with track id ``id``; uint8 when every id < 255, else uint16.
Occlusion (one PNG per person, ``RUN/masks/<cam>/<frame:06d>_occluded_<id>.png``):
    uint8, 255 where person ``id`` is hidden behind another person (the pixel is unobserved, not empty), else 0.

In memory the split works on *index* maps (H, W) int: -1 background, p >= 0 the p-th person of the frame's
list of ids; `index_to_label` / `label_to_index` convert.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.atomic import write_png
from segmentation.errors import SegmentationError

BACKGROUND = 0
"""Label of background pixels in label maps."""


def person_label(person_id: int) -> int:
    """The label value of track id `person_id` (>= 0): 1 + id."""
    if person_id < 0:
        raise SegmentationError(f"person_label: expected a track id >= 0, got {person_id}")
    return person_id + 1


def index_to_label(index_map: np.ndarray, ids: list[int]) -> np.ndarray:
    """(H, W) int index map (-1 background, p = ids[p]) -> (H, W) label map, uint8 or uint16 (see module doc)."""
    if any(i < 0 for i in ids):
        raise SegmentationError(f"index_to_label: expected track ids >= 0, got {ids}")
    if len(ids) and max(ids) >= 65535:
        raise SegmentationError(f"index_to_label: expected track ids < 65535 (uint16 labels), got {max(ids)}")
    dtype = np.uint8 if not ids or max(ids) < 255 else np.uint16
    lookup = np.array([BACKGROUND] + [person_label(i) for i in ids], dtype=dtype)
    return lookup[np.asarray(index_map) + 1]


def label_to_index(label_map: np.ndarray, ids: list[int]) -> np.ndarray:
    """(H, W) label map -> (H, W) int32 index map: -1 background or a label not in `ids`, else p with ids[p]."""
    label_map = np.asarray(label_map).astype(np.int64)
    index = np.full(label_map.shape, -1, np.int32)
    for p, person_id in enumerate(ids):
        index[label_map == person_label(person_id)] = p
    return index


def write_label_map(path: Path, label_map: np.ndarray) -> None:
    """Write an (H, W) uint8/uint16 label map as PNG, atomically."""
    label_map = np.asarray(label_map)
    if label_map.ndim != 2 or label_map.dtype not in (np.uint8, np.uint16):
        raise SegmentationError(f"{path}: expected an (H, W) uint8 or uint16 label map, got {label_map.dtype} {label_map.shape}")
    write_png(path, label_map)


def read_label_map(path: Path) -> np.ndarray:
    """(H, W) uint8/uint16 label map from a PNG (a 3-channel file is read as its first channel)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise SegmentationError(f"{path}: expected a readable PNG label map, found none or an unreadable file")
    return image[..., 0] if image.ndim == 3 else image


def write_occluded(path: Path, occluded: np.ndarray) -> None:
    """Write an (H, W) bool occlusion mask as a uint8 0/255 PNG, atomically."""
    write_png(path, np.where(np.asarray(occluded, bool), 255, 0).astype(np.uint8))


def read_occluded(path: Path) -> np.ndarray:
    """(H, W) bool occlusion mask from a PNG written by `write_occluded`."""
    return read_label_map(path) > 0
