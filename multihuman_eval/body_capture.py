"""Metrics of 4D body capture on synthetic captures (:mod:`synth.body_capture`; used by the tests and
bench/bench_body_capture.py). :func:`evaluate_capture` compares what association, tracking and fitting made of a
capture with its ground truth:

- people are matched to ground truth per frame by the Hungarian algorithm on the mean joint distance
  (gate ``match_distance`` metres); a track's ground-truth person is the one it matched most often;
- ``triangulated_mpjpe_mm``: mean distance of triangulated joints (confidence > 0) to the truth, millimetres;
- ``fitted_mpjpe_mm``: mean distance of the fitted body's keypoints (frames where the person is present);
- ``vertex_error_mm``: mean distance between fitted and ground-truth vertices (same body model only);
- ``pcp``: percentage of correct parts, the Shelf/Campus definition: per ground-truth person and frame, a limb
  (``PCP_LIMBS``) is correct when the mean distance of its two ends to the truth is at most half the limb's true
  length; a person-frame without a matched person, or a limb end not triangulated, counts as wrong; per person
  the mean over its present frames and limbs (``pcp_per_person``), ``pcp`` their mean, percent;
  ``fitted_pcp``: the same of the fitted bodies' keypoints, over the frames up to the last one fitted;
- ``id_switches``: MOT identity switches (:func:`body.tracking.count_id_switches`); ``missed``: ground-truth
  person-frames without a tracked person; ``false_people``: tracked person-frames without a ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from body.keypoint_layouts import get_layout
from body.model import BodyModel
from body.params import BodyParams
from body.sequence_fit import TrackFit
from body.tracking import Track, count_id_switches
from synth.body_capture import SyntheticCapture


PCP_LIMBS = (
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"),
    ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"), ("nose", "neck"), ("neck", "mid_hip"),
)  # fmt: skip
"""The 10 limbs of Shelf/Campus PCP (upper/lower arms and legs, head, torso) by canonical keypoint names; the
head is nose-neck and the torso neck-mid-hip where the layout has no head top (BODY_25)."""


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
    pcp: float = float("nan")
    pcp_per_person: tuple[float, ...] = ()
    fitted_pcp: float = float("nan")


def limb_indices(layout: str) -> np.ndarray:
    """(L, 2) joint indices of the ``PCP_LIMBS`` present in ``layout``."""
    names = get_layout(layout).keypoints
    return np.array([(names.index(a), names.index(b)) for a, b in PCP_LIMBS if a in names and b in names])


def correct_limbs(predicted: np.ndarray, known: np.ndarray, truth: np.ndarray, limbs: np.ndarray) -> np.ndarray:
    """(..., L) True where a limb is correct (PCP, module docstring).

    Args:
        predicted, truth: (..., K, 3) metres; known: (..., K) joints predicted; limbs: (L, 2) joint indices.
    """
    a, b = limbs[:, 0], limbs[:, 1]
    error = 0.5 * (np.linalg.norm(predicted[..., a, :] - truth[..., a, :], axis=-1)
                   + np.linalg.norm(predicted[..., b, :] - truth[..., b, :], axis=-1))  # fmt: skip
    length = np.linalg.norm(truth[..., a, :] - truth[..., b, :], axis=-1)
    return (error <= 0.5 * length) & known[..., a] & known[..., b]


def pcp_scores(correct: np.ndarray, present: np.ndarray) -> tuple[float, tuple[float, ...]]:
    """Mean PCP over people and per person, percent, from ``correct`` (P, T, L) and ``present`` (P, T)."""
    per_person = tuple(100.0 * float(correct[p][present[p]].mean()) for p in range(len(present)) if present[p].any())
    return (float(np.mean(per_person)) if per_person else float("nan")), per_person


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
    limbs = limb_indices(capture.layout)
    correct = np.zeros(capture.present.shape + (len(limbs),), dtype=bool)
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
                correct[gt, t] = correct_limbs(person.keypoints, seen, capture.keypoints[gt, t], limbs)
    matched = sum(gt >= 0 for frame in truth_ids for gt in frame)
    fitted_mpjpe, vertex_error, fitted_pcp = float("nan"), float("nan"), float("nan")
    if fits:
        fitted_mpjpe, vertex_error = _fit_errors(body, capture, fits, owner)
        fitted_pcp = _fitted_pcp(capture, fits, truth_ids, track_ids, limbs)
    pcp, pcp_per_person = pcp_scores(correct, capture.present)
    return CaptureMetrics(
        triangulated_mpjpe_mm=1000.0 * float(np.concatenate(errors).mean()) if errors else float("nan"),
        fitted_mpjpe_mm=fitted_mpjpe,
        vertex_error_mm=vertex_error,
        id_switches=count_id_switches(truth_ids, track_ids),
        missed=int(capture.present.sum()) - matched,
        false_people=sum(gt < 0 for frame in truth_ids for gt in frame),
        num_tracks=len(tracks),
        pcp=pcp,
        pcp_per_person=pcp_per_person,
        fitted_pcp=fitted_pcp,
    )


def _fitted_pcp(capture: SyntheticCapture, fits: list[TrackFit], truth_ids, track_ids, limbs: np.ndarray) -> float:
    """PCP of the fitted bodies' keypoints, each frame's tracks matched to the truth as for ``pcp``."""
    correct = np.zeros(capture.present.shape + (len(limbs),), dtype=bool)
    by_track = {fit.track_id: fit for fit in fits}
    for t, (truth, tracks) in enumerate(zip(truth_ids, track_ids)):
        for gt, track_id in zip(truth, tracks):
            fit = by_track.get(track_id)
            if gt >= 0 and fit is not None and t in fit.frames:
                keypoints = fit.keypoints[fit.frames.index(t)]
                correct[gt, t] = correct_limbs(keypoints, fit.available, capture.keypoints[gt, t], limbs)
    fitted = np.zeros(capture.present.shape[1], dtype=bool)
    fitted[: max(max(fit.frames) for fit in fits) + 1] = True  # a fit of the first frames only: those frames
    return pcp_scores(correct, capture.present & fitted)[0]


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
    track_seconds: float = 0.0


def run_synthetic(
    body: BodyModel,
    capture: SyntheticCapture,
    fit_config=None,
    association_config=None,
    tracker_config=None,
    fit: bool = True,
    fit_frames: int | None = None,
) -> SyntheticRun:
    """Associate + triangulate every frame, track, fit (``fit``; the first ``fit_frames`` frames only when
    given: the tracks are cut there and those seen before it fitted), and evaluate against the ground truth."""
    import time

    from body.association import AssociationConfig, Associator
    from body.sequence_fit import SequenceFitConfig, fit_tracks
    from body.tracking import TrackerConfig, track_people

    associator = Associator(list(capture.rig), capture.layout, association_config or AssociationConfig())
    start = time.perf_counter()
    people = [associator(frame) for frame in capture.detections]
    association_s = time.perf_counter() - start
    frames = [frame.frame for frame in capture.detections]
    start = time.perf_counter()
    tracks = track_people(frames, people, tracker_config or TrackerConfig())
    track_s = time.perf_counter() - start
    fits, fit_s = None, 0.0
    if fit and tracks:
        fit_span = frames[:fit_frames] if fit_frames else frames
        cut = [Track(t.id, {f: p for f, p in t.people.items() if f <= fit_span[-1]}) for t in tracks]
        cut = [t for t in cut if t.people]
        start = time.perf_counter()
        fits = fit_tracks(body, cut, fit_span, list(capture.rig), capture.layout, fit_config or SequenceFitConfig())
        fit_s = time.perf_counter() - start
    metrics = evaluate_capture(body, capture, tracks, fits)
    return SyntheticRun(metrics, len(frames) / association_s, fit_s, len(frames), track_s)
