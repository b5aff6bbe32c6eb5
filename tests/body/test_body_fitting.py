"""Fitting bodies to 3D keypoints (people x frames at once)."""

from __future__ import annotations

import torch

from body.fitting import FitConfig, fit_keypoints3d, kabsch
from body.keypoint_layouts import get_layout
from body.model import axis_angle_to_matrix
from body.params import BodyParams


def test_kabsch_recovers_a_rigid_motion():
    generator = torch.Generator().manual_seed(0)
    source = torch.randn(3, 10, 3, dtype=torch.float64, generator=generator)
    rotation = axis_angle_to_matrix(torch.randn(3, 3, dtype=torch.float64, generator=generator))
    target = source @ rotation.transpose(1, 2) + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    r, t = kabsch(source, target, torch.ones(3, 10, dtype=torch.float64))
    torch.testing.assert_close(r, rotation)
    torch.testing.assert_close(t, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64).expand(3, 3))


def _random_anny_params(body, people, frames, seed):
    g = torch.Generator().manual_seed(seed)
    yaw = (torch.rand(people, frames, 1, generator=g) * 2 - 1) * torch.pi
    return BodyParams(
        shape=0.2 + 0.6 * torch.rand(people, 1, len(body.shape_names), generator=g),
        pose_aa=0.25 * torch.randn(people, frames, len(body.pose_joint_names), 3, generator=g),
        global_rot_aa=torch.cat([0.1 * torch.randn(people, frames, 2, generator=g), yaw], -1),
        transl=torch.randn(people, frames, 3, generator=g),
    )


def test_fit_anny_to_its_own_keypoints(anny_body):
    """Random shape/pose, clean keypoints from Anny itself: keypoints <= 10 mm and vertices <= 20 mm mean.
    Measured (2026-11-21): keypoints 2.0 mm, vertices 14.3 mm mean, ~12 s on 2 cores."""
    truth = _random_anny_params(anny_body, people=2, frames=3, seed=0)
    with torch.no_grad():
        target = anny_body(truth)
    names = anny_body.keypoint_names
    result = fit_keypoints3d(anny_body, target.keypoints, torch.ones(2, 3, len(names)), names,
                             config=FitConfig(smoothness_weight=0.0))  # fmt: skip
    with torch.no_grad():
        fitted = anny_body(result.params)
    keypoint_error = float(result.residuals[0].mean())
    vertex_error = float((fitted.vertices - target.vertices).norm(dim=-1).mean())
    assert result.params.shape.shape == (2, 1, len(anny_body.shape_names))
    assert keypoint_error <= 0.010, keypoint_error
    assert vertex_error <= 0.020, vertex_error


def test_fit_smplx_layout_with_missing_keypoints_and_smoothness(smplx_body):
    """BODY_25 targets with some joints missing (confidence 0) and a smooth motion; shape shared per person."""
    names = list(get_layout("body25").keypoints)
    frames = 5
    time = torch.linspace(0, 1, frames)[None, :, None, None]
    truth = smplx_body.neutral_params((2, frames))
    truth.pose_aa = 0.3 * torch.sin(3 * time + torch.arange(21.0)[None, None, :, None]).expand(2, frames, 21, 3).clone()
    truth.transl = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.5, 1.0]])[:, None].expand(2, frames, 3).clone()
    truth.shape = 0.5 * torch.randn(2, 1, 10, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        target = smplx_body.keypoints(truth, names)
    confidence = torch.ones(2, frames, len(names))
    confidence[:, :, names.index("left_ear")] = 0.0
    target[:, :, names.index("left_ear")] = 100.0  # garbage where confidence is 0 must not matter
    result = fit_keypoints3d(smplx_body, target, confidence, names, config=FitConfig(smoothness_weight=0.01))
    seen = confidence > 0
    assert float(result.residuals[0][seen].mean()) < 0.01
    assert result.keypoints.shape == (2, frames, len(names), 3) and len(result.loss_history) == 2
