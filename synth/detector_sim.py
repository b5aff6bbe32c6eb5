"""A 2D keypoint detector simulator: ground-truth 3D keypoints -> noisy per-view detections, with documented noise.

Tests and benchmarks of association, tracking and fitting run on its output, so they measure robustness to the
errors real detectors make rather than copying projections. Per view and frame (all rates are probabilities):

1. Projection of each person's K joints (with distortion); joints behind the camera or outside the image are
   not detected.
2. Occlusion: a joint is hidden when it lies behind a nearer person's limb, i.e. within ``limb_radius`` metres
   (scaled to pixels at that limb's depth) of one of the nearer person's projected skeleton edges. A hidden joint
   is missed with probability ``occluded_miss``, else detected with a gross error (the detector guesses).
3. Pixel jitter: isotropic Gaussian, ``jitter_px`` standard deviation, on every detected joint.
4. Missed joints: each remaining joint is dropped with probability ``miss_rate``.
5. Gross errors: a joint is displaced by a uniform offset of up to ``outlier_px`` with probability
   ``outlier_rate``.
6. Left/right swaps: with probability ``swap_rate`` per person and view, every left joint trades place with its
   right twin (the confidences stay high: detectors are confident when they swap).
7. Confidence that tracks error: ``c = 0.95 exp(-err^2 / (2 confidence_px^2)) + N(0, confidence_noise)``,
   clipped to [0.05, 1], where ``err`` is the joint's pixel error before the swap.
8. False detections: a Poisson number (mean ``false_rate``) of extra skeletons per view, each a real detection
   of that view translated by 0.2-0.6 image widths (inconsistent across views), with confidences x 0.6.
9. The detections of a view are shuffled (no order shared across views).

Harder mode (``failures=HARDER`` or :func:`detector_mode`): the failures of real bottom-up multi-person
detectors (OpenPose-like), applied between steps 7 and 8 (:class:`DetectorFailures`; all rates are
probabilities). A person-view is *crowded* when the person's 2D box (its joints inside the image) overlaps
another person's box with IoU >= ``crowd_iou``; its *neighbour* is the person of largest IoU.

a. Whole-side swaps of the legs: with probability ``leg_swap_rate`` per person and view the leg joints (hips to
   toes) trade sides (on top of step 6's whole-body swaps).
b. Missing people in crowded views: a crowded person-view is not detected with probability ``crowd_miss_rate``.
c. Wrong limbs: with probability ``limb_rate`` per crowded person-view, one limb (arm: elbow, wrist; leg: knee,
   ankle, foot; chosen uniformly) is the neighbour's, with its confidences.
d. Merged people: with probability ``merge_rate`` per crowded person-view (neighbour still detected, not itself
   merged), the lower body (hips down) of the detection is the neighbour's and the neighbour's own detection
   is gone: two people, one skeleton.
e. Split people: with probability ``split_rate`` per person-view, the detection comes as two: the upper body
   (head, neck, arms) and the lower body (hips down), both of that person.
f. Confidence that does not track error: each detected joint's confidence is replaced by a uniform draw in
   [0.3, 1] with probability ``blind_confidence_rate``.

Without ``failures`` (the default, "plain" mode) none of this runs and the random stream is the plain one: the
same seed gives the same detections as before harder mode existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from body.association import mirror_permutation
from body.keypoint_layouts import get_layout
from calibration.camera import Camera


@dataclass(frozen=True)
class DetectorNoise:
    """Noise model of :func:`simulate_detections` (module docstring gives the order of the steps)."""

    jitter_px: float = 2.0
    """Standard deviation of the Gaussian pixel noise on every joint."""
    miss_rate: float = 0.05
    """Probability that a visible joint is not detected."""
    outlier_rate: float = 0.02
    """Probability of a gross error per joint."""
    outlier_px: float = 40.0
    """Largest displacement of a gross error, pixels."""
    swap_rate: float = 0.02
    """Probability of a left/right swap per person and view."""
    false_rate: float = 0.2
    """Mean number of false detections per view and frame."""
    limb_radius: float = 0.06
    """Half-thickness of a limb for occlusion, metres; 0 disables occlusion."""
    occluded_miss: float = 0.6
    """Probability that an occluded joint is missed (else it gets a gross error)."""
    confidence_px: float = 8.0
    """Pixel error at which the confidence has dropped to 0.95 exp(-1/2) ~ 0.58."""
    confidence_noise: float = 0.05
    """Standard deviation of the noise added to the confidence."""


@dataclass(frozen=True)
class DetectorFailures:
    """Failure rates of the harder mode (module docstring, steps a-f); all 0 = no failures."""

    crowd_iou: float = 0.2
    """2D box IoU with another person from which a person-view counts as crowded."""
    leg_swap_rate: float = 0.0
    """Probability per person and view that the legs alone swap left and right."""
    crowd_miss_rate: float = 0.0
    """Probability that a crowded person-view is missed entirely."""
    limb_rate: float = 0.0
    """Probability per crowded person-view that one limb is taken from the neighbour."""
    merge_rate: float = 0.0
    """Probability per crowded person-view of one skeleton made of it (upper body) and its neighbour (lower)."""
    split_rate: float = 0.0
    """Probability per person-view of two detections, upper and lower body."""
    blind_confidence_rate: float = 0.0
    """Probability per detected joint that its confidence is uniform in [0.3, 1] whatever its error."""


HARDER_NOISE = DetectorNoise(jitter_px=3.0, miss_rate=0.08, outlier_rate=0.04, swap_rate=0.05, false_rate=0.4)
"""Per-joint noise of the harder mode: more jitter, misses, gross errors, swaps and false detections."""
HARDER = DetectorFailures(leg_swap_rate=0.05, crowd_miss_rate=0.3, limb_rate=0.15, merge_rate=0.08, split_rate=0.03,
                          blind_confidence_rate=0.3)  # fmt: skip
"""Failure rates of the harder mode."""
MODES = ("plain", "harder")


def detector_mode(name: str) -> tuple[DetectorNoise, DetectorFailures | None]:
    """(noise, failures) of a named simulator mode: ``plain`` (per-joint noise only) or ``harder``."""
    if name not in MODES:
        raise ValueError(f"detector_mode: expected one of {MODES}, got {name!r}")
    return (DetectorNoise(), None) if name == "plain" else (HARDER_NOISE, HARDER)


@dataclass
class SimulatedView:
    """One view's simulated detections.

    Attributes:
        keypoints: (N, K, 2) pixels. confidence: (N, K), 0 = missed.
        person: (N,) index of the ground-truth person of each detection, -1 for false detections.
        swapped: (N,) True where left and right were swapped.
        leg_swapped, stolen_limb, merged, split: (N,) True where harder mode's step a, c, d or e hit the
            detection (``merged``: its lower body is ``partner``'s; ``split``: one of the two halves).
        partner: (N,) the neighbour whose limb or lower body the detection holds, else -1.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    person: np.ndarray
    swapped: np.ndarray
    leg_swapped: np.ndarray
    stolen_limb: np.ndarray
    merged: np.ndarray
    split: np.ndarray
    partner: np.ndarray


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances (N, E) from points (N, 2) to segments a-b (E, 2) and the position along each segment (N, E)."""
    ab = b - a
    length2 = np.maximum((ab * ab).sum(-1), 1e-12)
    s = np.clip(((points[:, None] - a[None]) * ab[None]).sum(-1) / length2, 0.0, 1.0)
    closest = a[None] + s[..., None] * ab[None]
    return np.linalg.norm(points[:, None] - closest, axis=-1), s


def _occluded(pixels: np.ndarray, depth: np.ndarray, edges: np.ndarray, focal: float, radius: float) -> np.ndarray:
    """(P, K) True where a joint lies behind a nearer person's limb. pixels (P, K, 2), depth (P, K) metres."""
    people = pixels.shape[0]
    hidden = np.zeros(depth.shape, dtype=bool)
    for p in range(people):
        for q in range(people):
            if q == p:
                continue
            a, b = pixels[q, edges[:, 0]], pixels[q, edges[:, 1]]
            distance, s = _segment_distance(pixels[p], a, b)
            limb_depth = depth[q, edges[:, 0]] * (1 - s) + depth[q, edges[:, 1]] * s  # (K, E)
            covered = distance < radius * focal / np.maximum(limb_depth, 1e-6)
            hidden[p] |= (covered & (limb_depth < depth[p][:, None] - radius)).any(-1)
    return hidden


def _box_iou(pixels: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """(P, P) IoU of the people's 2D boxes (their joints ``inside`` the image), 0 on the diagonal and for boxless
    people. pixels (P, K, 2), inside (P, K)."""
    people = len(pixels)
    boxes = np.zeros((people, 4))
    for p in range(people):
        if inside[p].any():
            boxes[p] = np.concatenate([pixels[p, inside[p]].min(0), pixels[p, inside[p]].max(0)])
    low, high = np.maximum(boxes[:, None, :2], boxes[None, :, :2]), np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    overlap = np.prod(np.clip(high - low, 0.0, None), axis=-1)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.nan_to_num(overlap / (area[:, None] + area[None] - overlap))
    np.fill_diagonal(iou, 0.0)
    return iou


def crowding(pixels: np.ndarray, inside: np.ndarray, crowd_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """(P,) crowded flags and (P,) neighbour index (-1 if none) of the people of one view (module docstring)."""
    iou = _box_iou(pixels, inside)
    if not len(iou):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    crowded = iou.max(1) >= crowd_iou if len(iou) > 1 else np.zeros(len(iou), dtype=bool)
    return crowded, np.where(crowded, iou.argmax(1), -1)


def joint_groups(layout: str) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Limbs (arms: elbow, wrist; legs: knee, ankle, foot), the (K,) lower-body mask (hips down) and the (K,)
    leg-swap permutation of ``layout``, as used by harder mode."""
    names = get_layout(layout).keypoints
    mirror = mirror_permutation(layout)
    leg_words = ("hip", "knee", "ankle", "toe", "heel")
    lower = np.array([any(word in n for word in leg_words) for n in names])
    legs = np.where(lower, mirror, np.arange(len(names)))
    limbs = []
    for side in ("left", "right"):
        for parts in (("elbow", "wrist"), ("knee", "ankle", "big_toe", "small_toe", "heel")):
            index = [names.index(f"{side}_{part}") for part in parts if f"{side}_{part}" in names]
            if index:
                limbs.append(np.asarray(index))
    return limbs, lower, legs


def _detection_rows(detected, confidence, swapped) -> dict[str, list]:
    """Per-detection lists of the plain mode: one detection per person with any joint detected."""
    keep = np.flatnonzero(confidence.sum(-1) > 0)
    none = [False] * len(keep)
    return {"keypoints": list(detected[keep]), "confidence": list(confidence[keep]), "person": list(keep),
            "swapped": list(swapped[keep]), "leg_swapped": list(none), "stolen_limb": list(none),
            "merged": list(none), "split": list(none), "partner": [-1] * len(keep)}  # fmt: skip


def _apply_failures(truth, inside, detected, confidence, swapped, layout: str, failures: DetectorFailures,
                    rng: np.random.Generator) -> dict[str, list]:  # fmt: skip
    """Harder mode's steps a-f on one view's people (module docstring) -> per-detection lists."""
    people = len(truth)
    limbs, lower, legs = joint_groups(layout)
    crowded, neighbour = crowding(truth, inside, failures.crowd_iou)
    detected, confidence = detected.copy(), confidence.copy()
    leg_swapped = rng.random(people) < failures.leg_swap_rate
    detected[leg_swapped] = detected[leg_swapped][:, legs]
    confidence[leg_swapped] = confidence[leg_swapped][:, legs]
    confidence[crowded & (rng.random(people) < failures.crowd_miss_rate)] = 0.0
    seen = confidence.sum(-1) > 0
    source, source_conf = detected.copy(), confidence.copy()
    stolen = crowded & seen & (rng.random(people) < failures.limb_rate)
    partner = np.where(stolen, neighbour, -1)
    for p in np.flatnonzero(stolen):
        limb = limbs[rng.integers(len(limbs))]
        detected[p, limb], confidence[p, limb] = source[neighbour[p], limb], source_conf[neighbour[p], limb]
    merged = np.zeros(people, dtype=bool)
    draw = rng.random(people) < failures.merge_rate
    for p in range(people):
        q = neighbour[p]
        if draw[p] and crowded[p] and seen[p] and seen[q] and not merged[q] and not merged[p]:
            detected[p, lower], confidence[p, lower] = source[q, lower], source_conf[q, lower]
            merged[p], seen[q], partner[p] = True, False, q
    rows = {key: [] for key in _detection_rows(detected[:0], confidence[:0], swapped[:0])}
    split = rng.random(people) < failures.split_rate
    for p in np.flatnonzero(seen):
        halves = [lower, ~lower] if split[p] else [np.ones(len(lower), dtype=bool)]
        for half in halves:
            if not (confidence[p] * half).any():
                continue
            rows["keypoints"].append(detected[p])
            rows["confidence"].append(confidence[p] * half)
            for key, value in (("person", p), ("swapped", swapped[p]), ("leg_swapped", leg_swapped[p]),
                               ("stolen_limb", stolen[p]), ("merged", merged[p]), ("split", split[p]),
                               ("partner", partner[p])):  # fmt: skip
                rows[key].append(value)
    for conf in rows["confidence"]:
        blind = (conf > 0) & (rng.random(conf.shape) < failures.blind_confidence_rate)
        conf[blind] = rng.uniform(0.3, 1.0, int(blind.sum()))
    return rows


def simulate_detections(
    points: np.ndarray,
    cameras: Sequence[Camera],
    layout: str,
    noise: DetectorNoise = DetectorNoise(),
    rng: np.random.Generator | None = None,
    failures: DetectorFailures | None = None,
) -> list[SimulatedView]:
    """Simulated detections of P people in every view.

    Args:
        points: (P, K, 3) ground-truth world keypoints in ``layout`` order, metres (P may be 0).
        cameras: V cameras.
        layout: keypoint layout name (its edges define limbs for occlusion, its names left/right twins).
        rng: random generator (default: seeded with 0).
        failures: harder mode's failure rates (None: plain mode).
    Returns:
        V :class:`SimulatedView`.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    points = np.asarray(points, dtype=np.float64)
    layout_info = get_layout(layout)
    if points.ndim != 3 or points.shape[1:] != (len(layout_info), 3):
        raise ValueError(f"simulate_detections: expected points (P, {len(layout_info)}, 3), got {points.shape}")
    people, joints = points.shape[:2]
    edges = np.asarray(layout_info.edges, dtype=np.int64).reshape(-1, 2)
    swap = mirror_permutation(layout)
    views = []
    for camera in cameras:
        flat = points.reshape(-1, 3)
        depth = camera.world_to_camera(flat)[:, 2].reshape(people, joints) if people else np.zeros((0, joints))
        truth = camera.project(flat).reshape(people, joints, 2) if people else np.zeros((0, joints, 2))
        visible = (depth > 0.05) & (truth[..., 0] >= 0) & (truth[..., 0] <= camera.width - 1)
        visible &= (truth[..., 1] >= 0) & (truth[..., 1] <= camera.height - 1)
        in_image = visible.copy()
        error = rng.normal(0.0, noise.jitter_px, truth.shape)
        gross = rng.random((people, joints)) < noise.outlier_rate
        if noise.limb_radius > 0 and people > 1:
            hidden = _occluded(truth, depth, edges, camera.K[0, 0], noise.limb_radius) & visible
            visible &= ~(hidden & (rng.random(hidden.shape) < noise.occluded_miss))
            gross |= hidden
        offset = rng.uniform(-noise.outlier_px, noise.outlier_px, truth.shape)
        error = np.where(gross[..., None], offset, error)
        visible &= rng.random((people, joints)) >= noise.miss_rate
        detected = truth + error
        size = np.linalg.norm(error, axis=-1)
        confidence = 0.95 * np.exp(-0.5 * (size / noise.confidence_px) ** 2)
        confidence = np.clip(confidence + rng.normal(0.0, noise.confidence_noise, confidence.shape), 0.05, 1.0)
        confidence = np.where(visible, confidence, 0.0)
        swapped = rng.random(people) < noise.swap_rate
        detected[swapped] = detected[swapped][:, swap]
        confidence[swapped] = confidence[swapped][:, swap]
        if failures is None:
            rows = _detection_rows(detected, confidence, swapped)
        else:
            rows = _apply_failures(truth, in_image, detected, confidence, swapped, layout, failures, rng)
        keypoints, conf = rows["keypoints"], rows["confidence"]
        for _ in range(rng.poisson(noise.false_rate) if keypoints else 0):
            source = rng.integers(len(keypoints))
            shift = rng.uniform(0.2, 0.6, 2) * camera.width * rng.choice([-1.0, 1.0], 2)
            ghost = keypoints[source] + shift
            inside = (ghost[:, 0] >= 0) & (ghost[:, 0] <= camera.width - 1) & (ghost[:, 1] >= 0)
            inside &= ghost[:, 1] <= camera.height - 1
            if inside.sum() < 3:
                continue
            keypoints.append(ghost)
            conf.append(np.where(inside, 0.6 * conf[source], 0.0))
            for key, value in (("person", -1), ("partner", -1)):
                rows[key].append(value)
            for key in ("swapped", "leg_swapped", "stolen_limb", "merged", "split"):
                rows[key].append(False)
        order = rng.permutation(len(keypoints))
        views.append(
            SimulatedView(
                keypoints=np.asarray(keypoints, dtype=np.float64).reshape(-1, joints, 2)[order],
                confidence=np.asarray(conf, dtype=np.float64).reshape(-1, joints)[order],
                **{key: np.asarray(rows[key], dtype=np.int64 if key in ("person", "partner") else bool)[order]
                   for key in ("person", "swapped", "leg_swapped", "stolen_limb", "merged", "split", "partner")},
            )  # fmt: skip
        )
    return views
