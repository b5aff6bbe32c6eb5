"""Priors on body parameters: plausible joint-rotation ranges, a natural pose, shape near the mean, temporal
smoothness.

The pose prior is backend independent: ``pose_aa`` of both backends uses canonical joint names and canonical
axes. It penalises each joint's rotation angle beyond a plausible maximum (``MAX_JOINT_ANGLE``, radians;
a soft limit, not an anatomical range per axis) and adds a small quadratic pull towards the *natural pose*
(:func:`natural_pose`: arms hanging along the body, elbows slightly bent), not towards the model's rest pose
(Anny's arms stretch sideways, SMPL-X is a T-pose), so joints that no view sees end up hanging naturally.
"""

from __future__ import annotations

import math
import weakref

import kornia.geometry.conversions as kgc
import torch

from body.model import BodyModel, axis_angle_to_matrix

MAX_JOINT_ANGLE: dict[str, float] = {
    "left_hip": 2.0, "right_hip": 2.0, "left_knee": 2.6, "right_knee": 2.6, "left_ankle": 0.9,
    "right_ankle": 0.9, "left_foot": 0.6, "right_foot": 0.6, "spine1": 0.7, "spine2": 0.5, "spine3": 0.5,
    "neck": 0.8, "head": 0.8, "left_collar": 0.5, "right_collar": 0.5, "left_shoulder": 2.6,
    "right_shoulder": 2.6, "left_elbow": 2.6, "right_elbow": 2.6, "left_wrist": 1.4, "right_wrist": 1.4,
}  # fmt: skip
DEFAULT_MAX_ANGLE = 1.0


def joint_angle_limits(body: BodyModel) -> torch.Tensor:
    """(J,) maximum plausible rotation angle of each pose joint of ``body``, radians."""
    values = [MAX_JOINT_ANGLE.get(name, DEFAULT_MAX_ANGLE) for name in body.pose_joint_names]
    return torch.tensor(values, dtype=body.dtype, device=body.device)


NATURAL_ARM_ABDUCTION = math.radians(8.0)
"""Natural pose: angle between each upper arm (shoulder -> elbow keypoint) and the body's down axis, radians."""
NATURAL_ELBOW_FLEXION = math.radians(20.0)
"""Natural pose: forward bend of each forearm from the upper arm's direction, radians."""


def _rotation_between(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(3, 3) the smallest rotation turning direction ``u`` (3,) onto direction ``v`` (3,)."""
    u, v = torch.nn.functional.normalize(u, dim=0), torch.nn.functional.normalize(v, dim=0)
    axis = torch.linalg.cross(u, v)
    angle = torch.atan2(axis.norm(), (u * v).sum())
    return axis_angle_to_matrix(torch.nn.functional.normalize(axis, dim=0) * angle)


def _axis_angle(rotation: torch.Tensor) -> torch.Tensor:
    """(3, 3) rotation matrix -> (3,) axis-angle."""
    return kgc.rotation_matrix_to_axis_angle(rotation[None])[0]


_NATURAL_POSES: "weakref.WeakKeyDictionary[BodyModel, torch.Tensor]" = weakref.WeakKeyDictionary()


def natural_pose(body: BodyModel) -> torch.Tensor:
    """(J, 3) ``pose_aa`` of a relaxed standing body of mean shape: each upper arm hangs
    ``NATURAL_ARM_ABDUCTION`` out from the down axis, each forearm bends ``NATURAL_ELBOW_FLEXION`` forward; the
    other joints stay at rest (zero). Computed once per body from its own shoulder / elbow / wrist keypoints, so
    it holds for any backend's rest pose (A-pose, T-pose); a body without those keypoints or joints keeps its
    rest pose there."""
    if body not in _NATURAL_POSES:
        _NATURAL_POSES[body] = _natural_pose(body)
    return _NATURAL_POSES[body].clone()


def _natural_pose(body: BodyModel) -> torch.Tensor:
    pose = torch.zeros(len(body.pose_joint_names), 3, dtype=body.dtype, device=body.device)
    params = body.neutral_params((), standing=False)
    params.pose_aa = pose
    forward = pose.new_tensor([0.0, -1.0, 0.0])  # canonical frame: facing -y, left +x, up +z
    arms = []  # (keypoint names, shoulder joint, elbow joint, upper arm direction, forearm direction)
    for side, outward in (("left", 1.0), ("right", -1.0)):
        names = [f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist"]
        joints = [f"{side}_shoulder", f"{side}_elbow"]
        if all(n in body.keypoint_names for n in names) and all(j in body.pose_joint_names for j in joints):
            down = pose.new_tensor([outward * math.sin(NATURAL_ARM_ABDUCTION), 0.0, -math.cos(NATURAL_ARM_ABDUCTION)])
            lower = math.cos(NATURAL_ELBOW_FLEXION) * down + math.sin(NATURAL_ELBOW_FLEXION) * forward
            arms.append((names, *(body.pose_joint_names.index(j) for j in joints), down, lower))
    names = [n for arm in arms for n in arm[0]]
    with torch.no_grad():
        for _ in range(3 if arms else 0):  # keypoints sit near, not on, the joints' pivots: a few refinements
            keypoints = dict(zip(names, body.keypoints(params, names)))
            for (shoulder_kp, elbow_kp, _), shoulder, _, down, _ in arms:
                turn = _rotation_between(keypoints[elbow_kp] - keypoints[shoulder_kp], down)
                pose[shoulder] = _axis_angle(turn @ axis_angle_to_matrix(pose[shoulder]))
            keypoints = dict(zip(names, body.keypoints(params, names)))
            for (_, elbow_kp, wrist_kp), shoulder, elbow, _, lower in arms:
                upper = axis_angle_to_matrix(pose[shoulder])  # the elbow turns in its parent's (upper arm's) frame
                turn = upper.T @ _rotation_between(keypoints[wrist_kp] - keypoints[elbow_kp], lower) @ upper
                pose[elbow] = _axis_angle(turn @ axis_angle_to_matrix(pose[elbow]))
    return torch.nan_to_num(pose)  # a degenerate (zero-length) arm of a toy model: no rotation


def pose_prior(
    pose_aa: torch.Tensor, limits: torch.Tensor, mean: torch.Tensor | None = None, quadratic_weight: float = 0.01
) -> torch.Tensor:
    """Per-body pose prior.

    Args:
        pose_aa: (*batch, J, 3). limits: (J,) max angles from the rest pose (radians). mean: (J, 3) the pose
            the quadratic term pulls towards (e.g. :func:`natural_pose`; default: the rest pose, zeros).
    Returns:
        (*batch,) ``sum_j relu(|aa_j| - limit_j)^2 + quadratic_weight * |aa_j - mean_j|^2``.
    """
    angle = pose_aa.square().sum(-1).add(1e-12).sqrt()
    excess = torch.relu(angle - limits)
    offset = pose_aa if mean is None else pose_aa - mean
    return (excess.square() + quadratic_weight * offset.square().sum(-1)).sum(-1)


def shape_prior(shape: torch.Tensor, body: BodyModel) -> torch.Tensor:
    """(*batch,) squared distance of ``shape`` (*batch, S) to the body's mean shape, plus a steep penalty outside
    the body's shape bounds (Anny phenotypes live in [0, 1])."""
    prior = (shape - body.shape_mean).square().sum(-1)
    if body.shape_bounds is not None:
        low, high = body.shape_bounds[:, 0], body.shape_bounds[:, 1]
        prior = prior + 100.0 * (torch.relu(low - shape) + torch.relu(shape - high)).square().sum(-1)
    return prior


def temporal_smoothness(values: torch.Tensor, time_dim: int) -> torch.Tensor:
    """Sum of squared first differences of ``values`` along ``time_dim`` (0 for a single frame)."""
    if values.shape[time_dim] < 2:
        return values.new_zeros(())
    return torch.diff(values, dim=time_dim).square().sum()
