"""Split one view's foreground into people with the fitted bodies, and mark where each person is hidden.

Algorithm (per view; P people with `BodyFields`):
1. Core: every body is inflated by `core_margin` metres (an image dilation adaptive to depth, at least
   `MIN_MARGIN_PX`, with the depth pulled forward by the margin) and the inflated bodies are z-buffered; a foreground pixel covered by one
   takes the nearest person there. Clothing close to the skin of a nearer person thus wins over the body of
   a farther person behind it.
2. Growth: the remaining foreground pixels within `reach` metres of some body are claimed by growing the
   labels one pixel at a time through the foreground only (geodesic), so loose clothing and hair go to the
   body they are attached to; when several people reach a pixel in the same step the nearer one (depth)
   wins. Foreground pixels not connected this way take the body nearest in metres; those beyond `reach`
   of every body are not a person (background).
3. Smoothing: a label-aware majority filter (a few iterations of a Potts-like mode filter) inside the
   foreground removes ragged borders between people.
4. Occlusion: person p is hidden at pixels within `occlusion_margin` metres of p's body projection that carry
   another person q whose depth there is smaller than p's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segmentation.errors import SegmentationError
from segmentation.projection import BodyFields, argmin_people


MIN_MARGIN_PX = 1.5
"""The core inflation is at least this many pixels (silhouettes are only exact to about a pixel)."""


@dataclass(frozen=True)
class SplitConfig:
    """How foreground is split into people (distances in metres, converted per pixel with the depth)."""

    core_margin: float = 0.02
    """Inflation of each body for the z-buffered core assignment (typical clothing thickness)."""
    reach: float = 0.30
    """Foreground farther than this from every body is not a person (left as background)."""
    smooth_size: int = 5
    """Side in pixels of the majority filter window (odd; 1 = no smoothing)."""
    smooth_iterations: int = 2
    """Majority filter passes."""
    occlusion_margin: float = 0.04
    """Dilation of each body projection within which pixels of a nearer person count as hiding it."""

    def __post_init__(self) -> None:
        for name in ("core_margin", "reach", "occlusion_margin"):
            if not getattr(self, name) >= 0.0:
                raise SegmentationError(f"SplitConfig.{name}: expected >= 0 metres, got {getattr(self, name)!r}")
        if self.smooth_size < 1 or self.smooth_size % 2 == 0:
            raise SegmentationError(f"SplitConfig.smooth_size: expected an odd number >= 1, got {self.smooth_size}")


def _core(foreground: np.ndarray, fields: BodyFields, margin: float) -> np.ndarray:
    """(H, W) int32 index map of the z-buffered inflated bodies on the foreground (-1 elsewhere)."""
    inflated = np.where(fields.within(margin, MIN_MARGIN_PX), fields.near_depth - margin, np.inf)
    nearest = argmin_people(inflated)
    return np.where(foreground & np.isfinite(inflated.min(axis=0)), nearest, -1)


def _grow(index: np.ndarray, unknown: np.ndarray, near_depth: np.ndarray) -> np.ndarray:
    """Grow labels of `index` (H, W) into `unknown` (H, W) bool pixel by pixel; ties go to the nearer person."""
    index, unknown = index.copy(), unknown.copy()
    kernel = np.ones((3, 3), np.uint8)
    people = range(near_depth.shape[0])
    while unknown.any():
        reached = np.stack([cv2.dilate((index == p).astype(np.uint8), kernel) > 0 for p in people]) & unknown
        hit = reached.any(axis=0)
        if not hit.any():
            break
        best = argmin_people(np.where(reached, near_depth, np.inf))
        index[hit] = best[hit]
        unknown &= ~hit
    return index


def _smooth(index: np.ndarray, num_people: int, size: int, iterations: int) -> np.ndarray:
    """Majority filter over person labels inside the foreground; background pixels stay background."""
    if size == 1 or num_people < 2:
        return index
    labelled = index >= 0
    for _ in range(iterations):
        votes = np.stack(
            [cv2.boxFilter((index == p).astype(np.float32), -1, (size, size), normalize=False) for p in range(num_people)]
        )
        index = np.where(labelled, np.argmax(votes, axis=0).astype(np.int32), index)
    return index


def occlusion_masks(index: np.ndarray, fields: BodyFields, margin: float) -> np.ndarray:
    """(P, H, W) bool: person p is hidden by a nearer person q (pixel labelled q within `margin` of p's body).

    Args:
        index: (H, W) int index map (-1 background, p person).
        fields: the view's body fields.
        margin: dilation of each body projection, metres.
    """
    labelled = index >= 0
    occluder_depth = np.where(
        labelled, np.take_along_axis(fields.near_depth, np.maximum(index, 0)[None], axis=0)[0], np.inf
    )
    occluded = fields.within(margin)
    for p in range(fields.num_people):
        occluded[p] &= labelled & (index != p) & (occluder_depth < fields.near_depth[p])
    return occluded


def split_foreground(
    foreground: np.ndarray, fields: BodyFields, config: SplitConfig = SplitConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """Split one view's foreground into people (see the module docstring for the algorithm).

    Args:
        foreground: (H, W) bool foreground of the view.
        fields: `BodyFields` of the view's P fitted bodies.
        config: margins and smoothing.
    Returns:
        index map (H, W) int32 (-1 background, p person of the fields' order) and occlusion (P, H, W) bool.
    """
    foreground = np.asarray(foreground, bool)
    if foreground.shape != fields.depth.shape[1:]:
        raise SegmentationError(
            f"split_foreground: argument 'foreground': expected shape {fields.depth.shape[1:]} (the view's size), "
            f"got {foreground.shape}"
        )
    index = _core(foreground, fields, config.core_margin)
    nearest_distance = fields.distance.min(axis=0)
    unknown = foreground & (index < 0) & (nearest_distance <= config.reach)
    index = _grow(index, unknown, fields.near_depth)
    rest = foreground & (index < 0) & (nearest_distance <= config.reach)
    index[rest] = argmin_people(fields.distance)[rest]
    index = _smooth(index, fields.num_people, config.smooth_size, config.smooth_iterations)
    return index, occlusion_masks(index, fields, config.occlusion_margin)
