"""Body fitting over a whole sequence, all tracked people at once (:func:`fit_tracks`).

Per person: one shape shared over its frames; per frame pose, rotation and translation. Data terms: the
triangulated 3D keypoints (:class:`body.fitting.Keypoints3DTerm`) and the confidence-weighted robust
reprojection of the keypoints onto the 2D detections each person was associated with
(:class:`body.fitting.Keypoints2DTerm`, each left/right pair read as detected or swapped, whichever fits, per
view); pose and shape priors and temporal smoothness come from
:func:`body.fitting.fit_body`. All people share one batch (P, T) over the selected frames; frames of a track's
span (first to last frame it was seen) where nothing was detected have no data term; after the fit their
parameters are interpolated between the nearest detected frames (:func:`interpolate_gaps`; smoothness alone
moves them too slowly within the iteration budget), and they are flagged ``interpolated``. The initial rigid pose of every frame is a Kabsch alignment to the
triangulated keypoints, linearly interpolated in time over the frames without any.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

import kornia.geometry.conversions as kgc
import numpy as np
import torch

from body.association import mirror_permutation
from body.fitting import FitConfig, Keypoints2DTerm, Keypoints3DTerm, fit_body, initial_params
from body.keypoint_layouts import get_layout
from body.model import BodyModel
from body.params import BodyParams
from body.tracking import Track
from calibration.camera import Camera
from calibration.geometry import CameraTensors

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SequenceFitConfig:
    """Settings of :func:`fit_tracks`."""

    fit: FitConfig = field(default_factory=lambda: FitConfig(global_iterations=30, iterations=60))
    """Optimiser, priors and smoothness (``body.fitting.FitConfig``)."""
    sigma_3d: float = 0.015
    """3D keypoint distance that costs 1, metres."""
    use_2d: bool = True
    """Add the 2D reprojection term."""
    sigma_px: float = 4.0
    """Reprojection error that costs 1, pixels."""
    robust_px: float = 15.0
    """Scale of the robust (Geman-McClure) reprojection loss, pixels."""
    weight_2d: float = 0.5
    """Weight of the 2D term relative to the 3D term."""


@dataclass
class TrackFit:
    """The fitted body of one track over its span of frames (T = frames from its first to its last).

    Attributes:
        track_id: the person's id.
        frames: (T,) frame numbers.
        params: body parameters; ``shape`` (1, S), the others (T, ...).
        keypoints: (T, K, 3) the fitted body's keypoints in the layout's order (zeros for joints the body model
            cannot produce, see ``available``), metres.
        available: (K,) bool, joints the body model produces.
        interpolated: (T,) True where the person was not detected (pose interpolated by the fit).
    """

    track_id: int
    frames: list[int]
    params: BodyParams
    keypoints: np.ndarray
    available: np.ndarray
    interpolated: np.ndarray


def _interpolate_missing(target: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """(T, K, 3) with each joint linearly interpolated (held at the ends) over the frames where it is unknown."""
    filled = target.copy()
    time = np.arange(len(target))
    for joint in range(target.shape[1]):
        known = confidence[:, joint] > 0
        if known.any() and not known.all():
            for axis in range(3):
                filled[:, joint, axis] = np.interp(time, time[known], target[known, joint, axis])
    return filled


def _nlerp_axis_angle(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Normalised quaternion interpolation of axis-angle rotations a, b (..., 3) with weights (..., 1) in [0, 1]."""
    qa, qb = kgc.axis_angle_to_quaternion(a.reshape(-1, 3)), kgc.axis_angle_to_quaternion(b.reshape(-1, 3))
    qb = torch.where((qa * qb).sum(-1, keepdim=True) < 0, -qb, qb)  # the shorter way round
    weight = weight.expand(*a.shape[:-1], 1).reshape(-1, 1)
    q = torch.nn.functional.normalize((1 - weight) * qa + weight * qb, dim=-1)
    return kgc.quaternion_to_axis_angle(q).reshape(a.shape)


def interpolate_gaps(params: BodyParams, detected: np.ndarray) -> BodyParams:
    """Parameters (batch (T,)) with the frames not ``detected`` (T,) replaced by an interpolation between the
    nearest detected frames before and after (rotations by normalised quaternion interpolation, translations
    linearly; held constant past the first/last detected frame)."""
    known = np.flatnonzero(detected)
    if len(known) == 0 or len(known) == len(detected):
        return params
    pose, rot, transl = params.pose_aa.clone(), params.global_rot_aa.clone(), params.transl.clone()
    for t in np.flatnonzero(~np.asarray(detected)):
        before, after = known[known < t], known[known > t]
        a = before[-1] if len(before) else after[0]
        b = after[0] if len(after) else before[-1]
        weight = torch.tensor([0.0 if a == b else (t - a) / (b - a)], dtype=pose.dtype)
        pose[t] = _nlerp_axis_angle(params.pose_aa[a], params.pose_aa[b], weight)
        rot[t] = _nlerp_axis_angle(params.global_rot_aa[a], params.global_rot_aa[b], weight)
        transl[t] = (1 - weight) * params.transl[a] + weight * params.transl[b]
    return BodyParams(params.shape, pose, rot, transl)


def fit_tracks(
    body: BodyModel,
    tracks: Sequence[Track],
    frames: Sequence[int],
    cameras: Sequence[Camera],
    layout: str,
    config: SequenceFitConfig = SequenceFitConfig(),
    progress: Callable[[str], None] | None = None,
) -> list[TrackFit]:
    """Fit one body per track over ``frames`` (ascending; the frames the tracks were built on).

    Args:
        tracks: from :func:`body.tracking.track_people`; their people carry 3D keypoints and 2D observations.
        cameras: the V cameras of the observations.
        layout: keypoint layout of the tracks' keypoints.
        progress: called after each loss evaluation of the joint fit (see :func:`body.fitting.fit_body`).
    Returns:
        One :class:`TrackFit` per track, in the order of ``tracks``.
    """
    if not tracks:
        return []
    layout_info = get_layout(layout)
    available = np.array(body.layout_support(layout_info))
    names = [n for n, ok in zip(layout_info.keypoints, available) if ok]
    columns = np.flatnonzero(available)
    position = {column: i for i, column in enumerate(columns)}
    mirror = [position.get(twin, i) for i, twin in enumerate(mirror_permutation(layout)[columns])]
    frame_index = {frame: t for t, frame in enumerate(frames)}
    num_people, num_frames, num_views = len(tracks), len(frames), len(cameras)
    target = np.zeros((num_people, num_frames, len(names), 3))
    confidence = np.zeros((num_people, num_frames, len(names)))
    pixels = np.zeros((num_people, num_frames, num_views, len(names), 2))
    pixel_confidence = np.zeros((num_people, num_frames, num_views, len(names)))
    for p, track in enumerate(tracks):
        for frame, person in track.people.items():
            t = frame_index[frame]
            target[p, t], confidence[p, t] = person.keypoints[columns], person.confidence[columns]
            pixels[p, t], pixel_confidence[p, t] = person.pixels[:, columns], person.pixel_confidence[:, columns]
    init_target = np.stack([_interpolate_missing(target[p], confidence[p]) for p in range(num_people)])
    init_confidence = np.maximum(confidence, (confidence.sum(1, keepdims=True) > 0) * 0.1)
    as_tensor = lambda a: torch.as_tensor(a, dtype=body.dtype, device=body.device)  # noqa: E731
    init = initial_params(body, names, as_tensor(init_target), as_tensor(init_confidence))
    terms = [Keypoints3DTerm(as_tensor(target), as_tensor(confidence), sigma=config.sigma_3d)]
    if config.use_2d:
        cams = CameraTensors.from_cameras(list(cameras), dtype=body.dtype, device=body.device)
        terms.append(Keypoints2DTerm(cams, as_tensor(pixels), as_tensor(pixel_confidence), sigma_px=config.sigma_px,
                                     robust_px=config.robust_px, weight=config.weight_2d, mirror=mirror))  # fmt: skip
    logger.info("fitting %d people x %d frames (%d keypoints, %s)", num_people, num_frames, len(names),
                "3D + 2D terms" if config.use_2d else "3D term")  # fmt: skip
    result = fit_body(body, names, terms, init, config.fit, progress)
    fits = []
    for p, track in enumerate(tracks):
        first, last = frame_index[min(track.people)], frame_index[max(track.people)]
        span = slice(first, last + 1)
        interpolated = np.array([frame not in track.people for frame in frames[span]])
        params = result.params.detach()
        params = BodyParams(shape=params.shape[p], pose_aa=params.pose_aa[p, span],
                            global_rot_aa=params.global_rot_aa[p, span], transl=params.transl[p, span])  # fmt: skip
        params = interpolate_gaps(params, ~interpolated)
        keypoints = np.zeros((last + 1 - first, len(layout_info), 3))
        with torch.no_grad():
            keypoints[:, columns] = body.keypoints(params, names).cpu().double().numpy()
        fits.append(TrackFit(track.id, list(frames[span]), params, keypoints, available, interpolated))
    return fits
