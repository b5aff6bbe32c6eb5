"""Metrics of 4D body capture on synthetic captures (:mod:`synth.body_capture`; used by the tests and
bench/bench_body_capture.py). :func:`evaluate_capture` compares what association, tracking and fitting made of a
capture with its ground truth:

- people are matched to ground truth per frame by the Hungarian algorithm on the mean joint distance
  (gate ``match_distance`` metres); a track's ground-truth person is the one it matched most often;
- ``triangulated_mpjpe_mm``: mean distance of triangulated joints (confidence > 0) to the truth, millimetres;
- ``fitted_mpjpe_mm``: mean distance of the fitted body's keypoints (frames where the person is present);
- ``vertex_error_mm``: mean distance between fitted and ground-truth vertices (same body model only);
- ``id_switches``: MOT identity switches (:func:`body.tracking.count_id_switches`); ``missed``: ground-truth
  person-frames without a tracked person; ``false_people``: tracked person-frames without a ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from body.model import BodyModel
from body.params import BodyParams
from body.sequence_fit import TrackFit
from body.tracking import Track, count_id_switches
from synth.body_capture import SyntheticCapture


@dataclass
class CaptureMetrics:
    """Metrics of a reconstructed synthetic capture (module docstring)."""

    triangulated_mpjpe_mm: float
    fitted_mpjpe_mm: float
    vertex_error_mm: float
    id_switches: int
    missed: int
    false_people: int
    num_tracks: int


def match_to_truth(truth: np.ndarray, present: np.ndarray, keypoints: list[np.ndarray], confidence: list[np.ndarray],
                   match_distance: float = 0.3) -> list[int]:  # fmt: skip
    """Ground-truth index (or -1) of each reconstructed person in one frame.

    Args:
        truth: (P, K, 3); present: (P,); keypoints: per person (K, 3); confidence: per person (K,).
    """
    cost = np.full((len(keypoints), len(truth)), 1e6)
    for i, (xyz, conf) in enumerate(zip(keypoints, confidence)):
        seen = conf > 0
        if seen.any():
            distance = np.linalg.norm(truth[:, seen] - xyz[seen], axis=-1).mean(-1)
            cost[i] = np.where(present & (distance < match_distance), distance, 1e6)
    matches = [-1] * len(keypoints)
    if cost.size:
        for i, p in zip(*linear_sum_assignment(cost)):
            if cost[i, p] < 1e6:
                matches[i] = int(p)
    return matches


def evaluate_capture(
    body: BodyModel, capture: SyntheticCapture, tracks: list[Track], fits: list[TrackFit] | None = None
) -> CaptureMetrics:
    """Metrics of ``tracks`` (and their ``fits``, in the same order) against the capture's ground truth."""
    num_frames = capture.keypoints.shape[1]
    truth_ids: list[list[int]] = [[] for _ in range(num_frames)]
    track_ids: list[list[int]] = [[] for _ in range(num_frames)]
    owner: dict[int, list[int]] = {}
    errors = []
    for t in range(num_frames):
        people = [(track.id, track.people[t]) for track in tracks if t in track.people]
        matches = match_to_truth(capture.keypoints[:, t], capture.present[:, t], [p.keypoints for _, p in people],
                                 [p.confidence for _, p in people])  # fmt: skip
        for (track_id, person), gt in zip(people, matches):
            truth_ids[t].append(gt)
            track_ids[t].append(track_id)
            owner.setdefault(track_id, []).append(gt)
            if gt >= 0:
                seen = person.confidence > 0
                errors.append(np.linalg.norm(person.keypoints[seen] - capture.keypoints[gt, t, seen], axis=-1))
    matched = sum(gt >= 0 for frame in truth_ids for gt in frame)
    fitted_mpjpe, vertex_error = float("nan"), float("nan")
    if fits:
        fitted_mpjpe, vertex_error = _fit_errors(body, capture, fits, owner)
    return CaptureMetrics(
        triangulated_mpjpe_mm=1000.0 * float(np.concatenate(errors).mean()) if errors else float("nan"),
        fitted_mpjpe_mm=fitted_mpjpe,
        vertex_error_mm=vertex_error,
        id_switches=count_id_switches(truth_ids, track_ids),
        missed=int(capture.present.sum()) - matched,
        false_people=sum(gt < 0 for frame in truth_ids for gt in frame),
        num_tracks=len(tracks),
    )


def _fit_errors(body: BodyModel, capture: SyntheticCapture, fits: list[TrackFit], owner: dict[int, list[int]]):
    """Mean keypoint and vertex errors (mm) of each fit against the ground-truth person its track matched most."""
    keypoint_errors, vertex_errors = [], []
    for fit in fits:
        votes = [gt for gt in owner.get(fit.track_id, []) if gt >= 0]
        if not votes:
            continue
        gt = int(np.bincount(votes).argmax())
        frames = np.asarray(fit.frames)
        present = capture.present[gt, frames]
        keep = frames[present]
        difference = fit.keypoints[present][:, fit.available] - capture.keypoints[gt, keep][:, fit.available]
        keypoint_errors.append(np.linalg.norm(difference, axis=-1).ravel())
        if len(keep):
            person = BodyParams(capture.params.shape[gt], capture.params.pose_aa[gt], capture.params.global_rot_aa[gt],
                                capture.params.transl[gt])  # fmt: skip
            with torch.no_grad():
                difference = body(_select_frames(fit.params, np.flatnonzero(present))).vertices
                difference = difference - body(_select_frames(person, keep)).vertices
            vertex_errors.append(difference.norm(dim=-1).double().numpy().ravel())
    mean = lambda values: 1000.0 * float(np.concatenate(values).mean()) if values else float("nan")  # noqa: E731
    return mean(keypoint_errors), mean(vertex_errors)


def _select_frames(params: BodyParams, index: np.ndarray) -> BodyParams:
    """Frames ``index`` of parameters with batch (T,) (a shape of batch (1,) is kept)."""
    index = torch.as_tensor(index, dtype=torch.long)
    shape = params.shape if params.shape.shape[0] == 1 else params.shape[index]
    return BodyParams(shape, params.pose_aa[index], params.global_rot_aa[index], params.transl[index])


@dataclass
class SyntheticRun:
    """Metrics and timings of :func:`run_synthetic`."""

    metrics: CaptureMetrics
    association_fps: float
    fit_seconds: float
    num_frames: int


def run_synthetic(
    body: BodyModel,
    capture: SyntheticCapture,
    fit_config=None,
    association_config=None,
    tracker_config=None,
    fit: bool = True,
) -> SyntheticRun:
    """Associate + triangulate every frame, track, fit (``fit``), and evaluate against the ground truth."""
    import time

    from body.association import AssociationConfig, Associator
    from body.sequence_fit import SequenceFitConfig, fit_tracks
    from body.tracking import TrackerConfig, track_people

    associator = Associator(list(capture.rig), capture.layout, association_config or AssociationConfig())
    start = time.perf_counter()
    people = [associator(frame) for frame in capture.detections]
    association_s = time.perf_counter() - start
    frames = [frame.frame for frame in capture.detections]
    tracks = track_people(frames, people, tracker_config or TrackerConfig())
    fits, fit_s = None, 0.0
    if fit and tracks:
        start = time.perf_counter()
        fits = fit_tracks(body, tracks, frames, list(capture.rig), capture.layout, fit_config or SequenceFitConfig())
        fit_s = time.perf_counter() - start
    return SyntheticRun(evaluate_capture(body, capture, tracks, fits), len(frames) / association_s, fit_s, len(frames))
