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


@dataclass
class SimulatedView:
    """One view's simulated detections.

    Attributes:
        keypoints: (N, K, 2) pixels. confidence: (N, K), 0 = missed.
        person: (N,) index of the ground-truth person of each detection, -1 for false detections.
        swapped: (N,) True where left and right were swapped.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    person: np.ndarray
    swapped: np.ndarray


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


def simulate_detections(
    points: np.ndarray,
    cameras: Sequence[Camera],
    layout: str,
    noise: DetectorNoise = DetectorNoise(),
    rng: np.random.Generator | None = None,
) -> list[SimulatedView]:
    """Simulated detections of P people in every view.

    Args:
        points: (P, K, 3) ground-truth world keypoints in ``layout`` order, metres (P may be 0).
        cameras: V cameras.
        layout: keypoint layout name (its edges define limbs for occlusion, its names left/right twins).
        rng: random generator (default: seeded with 0).
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
        keep = confidence.sum(-1) > 0
        person = list(np.nonzero(keep)[0])
        keypoints, conf, flags = list(detected[keep]), list(confidence[keep]), list(swapped[person])
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
            person.append(-1)
            flags.append(False)
        order = rng.permutation(len(keypoints))
        views.append(
            SimulatedView(
                keypoints=np.asarray(keypoints, dtype=np.float64).reshape(-1, joints, 2)[order],
                confidence=np.asarray(conf, dtype=np.float64).reshape(-1, joints)[order],
                person=np.asarray(person, dtype=np.int64)[order],
                swapped=np.asarray(flags, dtype=bool)[order],
            )
        )
    return views
