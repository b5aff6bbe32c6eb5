"""Scoring detected 2D keypoints against reference keypoints: people matching and PCK.

PCK@a: share of reference joints whose detection lies within ``a`` x the reference person's box size (the
longer side of the box of its keypoints). A reference joint the detector misses (no matched person, or
confidence 0) counts as a failure. Units: pixels in, box-size fractions out.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from body.detection.people import PersonKeypoints, keypoint_box

MAX_MATCH_DISTANCE = 0.5
"""A detection matches a reference person only if its median normalised joint distance is below this."""


def normalised_errors(
    detected: PersonKeypoints | None, reference: np.ndarray, evaluated: np.ndarray, size: float
) -> np.ndarray:
    """Per joint: distance / ``size``; NaN where the detection misses the joint, inf where not evaluated.

    Args:
        detected: the detection (same layout as ``reference``), or None (every evaluated joint missed).
        reference: (K, 2) reference pixels.
        evaluated: (K,) bool, the reference joints that count.
        size: the reference person's box size, pixels (> 0).
    """
    errors = np.full(len(reference), np.nan)
    if detected is not None:
        found = detected.confidence > 0
        errors[found] = np.linalg.norm(detected.keypoints[found] - reference[found], axis=1) / size
    errors[~evaluated] = np.inf
    return errors


def reference_size(reference: np.ndarray, present: np.ndarray) -> float:
    """Box size (longer side of the box of the ``present`` (K,) bool joints of (K, 2) pixels) of a person."""
    box = keypoint_box(reference, present.astype(np.float64))
    return float(max(box[2] - box[0], box[3] - box[1]))


def match_people(
    detected: list[PersonKeypoints],
    references: list[np.ndarray],
    evaluated: list[np.ndarray],
    sizes: list[float],
    max_distance: float = MAX_MATCH_DISTANCE,
) -> list[PersonKeypoints | None]:
    """One-to-one matching of detections to reference people by keypoint distance (Hungarian).

    Cost of a pair: median normalised distance over the reference's evaluated joints the detection has;
    pairs sharing fewer than 3 such joints, or costing ``max_distance`` or more, are not matched.

    Args:
        detected: detections of one image.
        references: per reference person (K, 2) pixels.
        evaluated: per reference person (K,) bool.
        sizes: per reference person its box size, pixels.

    Returns:
        per reference person its detection, or None.
    """
    cost = np.full((len(references), len(detected)), np.inf)
    for r, (reference, mask, size) in enumerate(zip(references, evaluated, sizes)):
        for d, person in enumerate(detected):
            errors = normalised_errors(person, reference, mask, size)
            finite = errors[np.isfinite(errors)]
            if finite.size >= 3 and np.median(finite) < max_distance:
                cost[r, d] = np.median(finite)
    matches: list[PersonKeypoints | None] = [None] * len(references)
    if cost.size:
        rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
        for r, d in zip(rows, cols):
            if np.isfinite(cost[r, d]):
                matches[r] = detected[d]
    return matches


def pck(errors: np.ndarray, threshold: float) -> float:
    """Share of evaluated joints (finite or NaN entries of ``errors`` (N,)) within ``threshold``; NaN = miss.

    Returns NaN when no joint is evaluated.
    """
    values = np.asarray(errors, dtype=np.float64)
    values = values[~np.isinf(values)]
    if values.size == 0:
        return float("nan")
    return float(np.mean(np.nan_to_num(values, nan=np.inf) <= threshold))
