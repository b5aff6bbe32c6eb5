"""Priors on body parameters: plausible joint-rotation ranges, shape near the mean, temporal smoothness.

The pose prior is backend independent: ``pose_aa`` of both backends uses canonical joint names and canonical
axes. It penalises each joint's rotation angle beyond a plausible maximum (``MAX_JOINT_ANGLE``, radians;
a soft limit, not an anatomical range per axis) and adds a small quadratic pull towards the rest pose.
"""

from __future__ import annotations

import torch

from body.model import BodyModel

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


def pose_prior(pose_aa: torch.Tensor, limits: torch.Tensor, quadratic_weight: float = 0.01) -> torch.Tensor:
    """Per-body pose prior.

    Args:
        pose_aa: (*batch, J, 3). limits: (J,) max angles (radians).
    Returns:
        (*batch,) ``sum_j relu(|aa_j| - limit_j)^2 + quadratic_weight * |aa_j|^2``.
    """
    angle = pose_aa.square().sum(-1).add(1e-12).sqrt()
    excess = torch.relu(angle - limits)
    return (excess.square() + quadratic_weight * angle.square()).sum(-1)


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
