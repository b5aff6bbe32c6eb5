"""Synthetic 4D body captures: bodies posed by ground-truth parameters (P, T), their keypoints in a layout, and the
detector simulator's output (:mod:`synth.detector_sim`) in every view of a rig. :mod:`multihuman_eval.body_capture`
scores what association, tracking and fitting make of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from body.keypoint_io import FrameDetections
from body.keypoint_layouts import get_layout
from body.model import BodyModel
from body.params import BodyParams
from calibration.rig import Rig
from synth.detector_sim import DetectorFailures, DetectorNoise, SimulatedView, simulate_detections


@dataclass
class SyntheticCapture:
    """Ground truth and simulated detections of a synthetic sequence.

    Attributes:
        rig: the cameras. layout: keypoint layout name (K joints).
        params: ground-truth body parameters, batch (P, T). present: (P, T) bool.
        keypoints: (P, T, K, 3) ground-truth keypoints, metres.
        detections: T frames of detections (frame numbers 0..T-1). simulated: per frame, per view, the
            simulator's output (with the ground-truth person of each detection).
    """

    rig: Rig
    layout: str
    params: BodyParams
    present: np.ndarray
    keypoints: np.ndarray
    detections: list[FrameDetections]
    simulated: list[list[SimulatedView]]


def simulate_capture(
    body: BodyModel,
    params: BodyParams,
    present: np.ndarray,
    rig: Rig,
    layout: str = "body25",
    noise: DetectorNoise = DetectorNoise(),
    seed: int = 0,
    failures: DetectorFailures | None = None,
) -> SyntheticCapture:
    """Detections of people posed by ``params`` (batch (P, T)) seen by ``rig``; absent people are not seen.
    ``failures``: the simulator's harder mode (None: plain, per-joint noise only)."""
    names = list(get_layout(layout).keypoints)
    with torch.no_grad():
        keypoints = body.keypoints(params, names).double().cpu().numpy()  # (P, T, K, 3)
    present = np.asarray(present, dtype=bool)
    rng = np.random.default_rng(seed)
    detections, simulated = [], []
    for t in range(keypoints.shape[1]):
        views = simulate_detections(keypoints[present[:, t], t], list(rig), layout, noise, rng, failures)
        people = np.flatnonzero(present[:, t])
        for view in views:  # person indices of the present subset -> indices of all people
            view.person = np.where(view.person >= 0, people[np.maximum(view.person, 0)], -1)
            view.partner = np.where(view.partner >= 0, people[np.maximum(view.partner, 0)], -1)
        simulated.append(views)
        detections.append(FrameDetections(t, layout, [v.keypoints for v in views], [v.confidence for v in views]))
    return SyntheticCapture(rig, layout, params, present, keypoints, detections, simulated)
