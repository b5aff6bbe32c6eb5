"""Multi-person detection in crowded views: a full-frame pass, optional overlapping tiles, a second pass on
crops around given boxes, and merging of duplicates by object keypoint similarity (OKS).

The boxes of the second pass typically come from people that other views already triangulated, reprojected
into this view: a person too small or too occluded for the full-frame pass is then searched where it must be.
Tiles help without boxes: a detector that shrinks the whole image to a small input (BlazePose: 224 x 224)
misses people a few hundred pixels tall in a large frame, and finds them in a tile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from body.detection.errors import DetectionError
from body.detection.people import PersonKeypoints

if TYPE_CHECKING:
    from body.detection.detector import KeypointDetector


@dataclass(frozen=True)
class CropPassConfig:
    """Options of the crop pass and of duplicate merging."""

    margin: float = 0.25
    """Each box is enlarged by this fraction of its size on every side before cropping."""
    min_crop_size: int = 96
    """Crops smaller than this (pixels, longest side) are enlarged around their centre to this size."""
    tile_size: int = 0
    """Also detect in square tiles of this side (pixels) with half-tile overlap; 0 = no tiles."""
    oks_threshold: float = 0.5
    """Two detections with an OKS above this are the same person; the one with the higher score is kept."""
    kappa: float = 0.1
    """OKS per-joint falloff constant (COCO's k = 2 sigma; 0.1 is about a COCO shoulder or hip)."""
    explained_fraction: float = 0.6
    """A detection whose joints coincide (per-joint OKS > 0.5) for this fraction or more with the same joints of
    people already kept (a part of one of them, or a mixture of several, as a crowded full frame gives) is dropped."""


def check_boxes(boxes: np.ndarray | None, argument: str = "boxes") -> np.ndarray:
    """Validate boxes as (M, 4) float64 ``[x0, y0, x1, y1]`` with x1 > x0 and y1 > y0; None gives (0, 4)."""
    if boxes is None:
        return np.zeros((0, 4))
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4))
    if not np.all(np.isfinite(boxes)) or np.any(boxes[:, 2] <= boxes[:, 0]) or np.any(boxes[:, 3] <= boxes[:, 1]):
        raise DetectionError(
            f"{argument}: expected (M, 4) finite boxes [x0, y0, x1, y1] with x1 > x0, y1 > y0, got {boxes}"
        )
    return boxes


def crop_window(box: np.ndarray, image_size: tuple[int, int], config: CropPassConfig) -> tuple[int, int, int, int]:
    """Integer crop ``(x0, y0, x1, y1)`` (x1, y1 exclusive) around ``box`` (4,), enlarged and clipped to the image.

    Args:
        image_size: (width, height) pixels.
    """
    width, height = image_size
    center = (box[:2] + box[2:]) / 2.0
    size = (box[2:] - box[:2]) * (1.0 + 2.0 * config.margin)
    size = np.maximum(size, config.min_crop_size)
    low = np.floor(center - size / 2.0).astype(int)
    high = np.ceil(center + size / 2.0).astype(int) + 1
    x0, y0 = max(low[0], 0), max(low[1], 0)
    x1, y1 = min(high[0], width), min(high[1], height)
    return int(x0), int(y0), int(x1), int(y1)


def tile_windows(image_size: tuple[int, int], tile_size: int) -> list[tuple[int, int, int, int]]:
    """Square windows ``(x0, y0, x1, y1)`` of side ``tile_size`` (clipped to the image) covering the image, at
    least half a tile overlapping; none when the tile would cover the whole image anyway.

    Args:
        image_size: (width, height) pixels.
    """
    width, height = image_size
    if tile_size <= 0 or (tile_size >= width and tile_size >= height):
        return []

    def starts(length: int) -> list[int]:  # evenly spaced, at most half a tile apart
        count = 1 if tile_size >= length else int(np.ceil((length - tile_size) / (tile_size / 2))) + 1
        return [int(round(v)) for v in np.linspace(0, max(length - tile_size, 0), count)]

    return [
        (x, y, min(x + tile_size, width), min(y + tile_size, height)) for y in starts(height) for x in starts(width)
    ]


def keypoint_similarity(a: PersonKeypoints, b: PersonKeypoints, kappa: float = 0.1) -> float:
    """Object keypoint similarity of two detections in the same layout, in [0, 1].

    OKS = mean over joints present in both of exp(-d^2 / (2 s^2 kappa^2)), d the joint distance in pixels and
    s^2 the mean area of the two boxes. 0 when no joint is present in both.
    """
    if a.layout != b.layout:
        raise DetectionError(f"keypoint_similarity: expected the same layout, got {a.layout!r} and {b.layout!r}")
    return _mean_similarity(joint_similarities(a, b, kappa))


def _mean_similarity(similarity: np.ndarray) -> float:
    """Mean of the (K,) per-joint terms present (not NaN); 0 when none is."""
    common = ~np.isnan(similarity)
    return float(np.mean(similarity[common])) if common.any() else 0.0


def joint_similarities(a: PersonKeypoints, b: PersonKeypoints, kappa: float = 0.1) -> np.ndarray:
    """(K,) per-joint OKS terms exp(-d^2 / (2 s^2 kappa^2)) of two detections in the same layout (see
    :func:`keypoint_similarity`); NaN where a joint is missing from either."""
    common = (a.confidence > 0) & (b.confidence > 0)
    areas = [max((p.bbox[2] - p.bbox[0]) * (p.bbox[3] - p.bbox[1]), 1.0) for p in (a, b)]
    squared = np.sum((a.keypoints - b.keypoints) ** 2, axis=-1)
    return np.where(common, np.exp(-squared / (2.0 * np.mean(areas) * kappa**2)), np.nan)


def merge_duplicates(
    people: list[PersonKeypoints], config: CropPassConfig = CropPassConfig(), first: list[PersonKeypoints] = ()
) -> list[PersonKeypoints]:
    """Greedy non-maximum suppression: keep people by decreasing score, drop any whose OKS with a kept person, as
    detected or with left and right swapped (a detector seeing someone from behind may mirror them in one pass and
    not in another), exceeds ``config.oks_threshold``, or whose joints the kept people explain
    (``config.explained_fraction``). The people of ``first`` (e.g. found where the rig says someone is) are kept
    before the others, whatever their score. Returns the kept people, ``first`` then by decreasing score."""
    from body.association import mirror_permutation

    kept: list[PersonKeypoints] = list(first)
    for person in sorted(people, key=lambda p: -p.score):
        twin = mirror_permutation(person.layout)
        mirrored = PersonKeypoints(person.keypoints[twin], person.confidence[twin], person.layout, person.bbox, 0.0)
        explained = np.zeros(len(twin), dtype=bool)
        duplicate = False
        for other in kept:
            direct = joint_similarities(person, other, config.kappa)
            swapped = joint_similarities(mirrored, other, config.kappa)
            duplicate |= max(_mean_similarity(direct), _mean_similarity(swapped)) > config.oks_threshold
            explained |= (np.nan_to_num(direct) > 0.5) | (np.nan_to_num(swapped) > 0.5)[twin]
        present = person.confidence > 0
        if not duplicate and not (present.any() and explained[present].mean() >= config.explained_fraction):
            kept.append(person)
    return kept


def _detect_in_window(
    detector: KeypointDetector, image: np.ndarray, window: tuple[int, int, int, int]
) -> list[PersonKeypoints]:
    x0, y0, x1, y1 = window
    found = detector.detect(np.ascontiguousarray(image[y0:y1, x0:x1]))
    return [person.translated(np.array([x0, y0])) for person in found]


def _cut_by_tile(person: PersonKeypoints, window: tuple[int, int, int, int], size: tuple[int, int]) -> bool:
    """True when the person's box reaches a tile edge inside the image: a person cut by the tile, which
    another tile (half a tile overlap) or the full frame sees whole."""
    edge = 2.0
    x0, y0, x1, y1 = window
    bx0, by0, bx1, by1 = person.bbox
    return bool(
        (x0 > 0 and bx0 <= x0 + edge)
        or (y0 > 0 and by0 <= y0 + edge)
        or (x1 < size[0] and bx1 >= x1 - 1 - edge)
        or (y1 < size[1] and by1 >= y1 - 1 - edge)
    )


def detect_people(
    detector: KeypointDetector,
    image: np.ndarray,
    boxes: np.ndarray | None = None,
    config: CropPassConfig = CropPassConfig(),
) -> list[PersonKeypoints]:
    """Detect everyone in one image: the full frame, tiles (``config.tile_size``; people cut by a tile's inner
    edge are dropped), one crop per box; duplicates merged.

    Args:
        detector: any ``KeypointDetector``.
        image: (H, W, 3) uint8 RGB.
        boxes: (M, 4) ``[x0, y0, x1, y1]`` pixel boxes where people are expected, or None (full frame only).
    Returns:
        People in ``detector.layout``, sorted by decreasing score; duplicates (also those of the full-frame
        pass alone) merged by :func:`merge_duplicates`.
    """
    boxes = check_boxes(boxes)
    people = detector.detect(image)
    size = (image.shape[1], image.shape[0])
    for window in tile_windows(size, config.tile_size):
        found = _detect_in_window(detector, image, window)
        people.extend(person for person in found if not _cut_by_tile(person, window, size))
    people.extend(detect_in_boxes(detector, image, boxes, config))
    return merge_duplicates(people, config)


def detect_in_boxes(
    detector: KeypointDetector, image: np.ndarray, boxes: np.ndarray | None, config: CropPassConfig = CropPassConfig()
) -> list[PersonKeypoints]:
    """The crop pass alone: people found in one crop per box (:func:`crop_window`), in image pixels, not merged.

    Args:
        image: (H, W, 3) uint8 RGB.
        boxes: (M, 4) ``[x0, y0, x1, y1]`` pixel boxes where people are expected, or None (nothing to do).
    """
    size = (image.shape[1], image.shape[0])
    people = []
    for box in check_boxes(boxes):
        people.extend(_detect_in_window(detector, image, crop_window(box, size, config)))
    return people
