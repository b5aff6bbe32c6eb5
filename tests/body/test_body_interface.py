"""The BodyModel interface suite, run on both backends (Anny and a tiny random SMPL-X-format model)."""

from __future__ import annotations

import pytest
import torch

from body import skinning
from body.errors import BodyModelError
from body.keypoint_layouts import LAYOUTS


def test_output_shapes_and_dtypes(body, make_params):
    params = make_params(body, (2, 3))
    out = body(params)
    n, j, k = body.num_vertices, len(body.joint_names), len(body.keypoint_names)
    assert out.vertices.shape == (2, 3, n, 3) and out.rest_vertices.shape == (2, 3, n, 3)
    assert out.joints.shape == (2, 3, j, 3) and out.rest_joints.shape == (2, 3, j, 3)
    assert out.joint_transforms.shape == (2, 3, j, 4, 4)
    assert out.keypoints.shape == (2, 3, k, 3) and out.keypoint_names == body.keypoint_names
    for tensor in (out.vertices, out.joints, out.joint_transforms, out.keypoints, out.skinning_weights):
        assert tensor.dtype == torch.float32 and torch.isfinite(tensor).all()
    assert out.faces.dtype == torch.int64 and out.faces.shape[1] == 3
    assert 0 <= int(out.faces.min()) and int(out.faces.max()) < n
    weights = out.skinning_weights
    assert weights.shape == (n, j) and (weights >= 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(n), atol=1e-4, rtol=0)


def test_unbatched_params_give_unbatched_output(body):
    out = body(body.neutral_params(()))
    assert out.vertices.shape == (body.num_vertices, 3) and out.joint_transforms.shape[-3:] == (len(body.joint_names), 4, 4)


def test_shape_shared_over_frames_broadcasts(body, make_params):
    params = make_params(body, (2, 3))
    per_person = params.shape[:, :1].clone()
    params.shape = per_person.expand(2, 3, -1).clone()
    full = body(params).vertices
    params.shape = per_person  # (P, 1, S)
    torch.testing.assert_close(body(params).vertices, full)


def test_rest_pose_skinning_is_identity(body):
    params = body.neutral_params((2,), standing=False)
    out = body(params)
    torch.testing.assert_close(out.joint_transforms, torch.eye(4).expand_as(out.joint_transforms), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.vertices, out.rest_vertices, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.joints[..., 0, :], torch.zeros(2, 3), atol=1e-6, rtol=0)


def test_global_rotation_and_translation_convention(body, make_params):
    """transl is the world position of the root joint; global_rot_aa turns the body about it in world axes."""
    params = make_params(body, (1,))
    base = body(params)
    moved = params.map(lambda t: t.clone())
    moved.transl = params.transl + torch.tensor([0.5, -1.0, 2.0])
    torch.testing.assert_close(body(moved).joints[:, 0], moved.transl)
    # A world rotation of 90 degrees about z applied on top of zero rotation maps x -> y.
    params.global_rot_aa = torch.zeros(1, 3)
    params.transl = torch.zeros(1, 3)
    upright = body(params)
    params.global_rot_aa = torch.tensor([[0.0, 0.0, torch.pi / 2]])
    turned = body(params)
    expected = torch.stack([-upright.vertices[..., 1], upright.vertices[..., 0], upright.vertices[..., 2]], -1)
    torch.testing.assert_close(turned.vertices, expected, atol=1e-5, rtol=0)
    assert base.vertices.shape == turned.vertices.shape


def test_convention_z_up_facing_minus_y_left_at_plus_x(body):
    """Pins the canonical frame: a misread up-axis (SMPL-X's y-up) would put the head along y."""
    out = body(body.neutral_params(()))
    kp = dict(zip(body.keypoint_names, out.keypoints))
    assert kp["head_top"][2] > kp["nose"][2] > kp["mid_hip"][2] > kp["left_ankle"][2]
    assert kp["nose"][1] < kp["upper_neck"][1]  # the face looks towards -y
    assert kp["left_shoulder"][0] > 0 > kp["right_shoulder"][0]
    assert abs(float(out.vertices[:, 2].min())) < 1e-5  # standing neutral: feet on z = 0
    height = float(out.vertices[:, 2].max())
    assert 1.0 < height < 2.2


def test_gradients_flow_to_every_parameter(body, make_params):
    params = make_params(body, (2,)).map(lambda t: t.clone().requires_grad_(True))
    out = body(params)
    (out.vertices.square().sum() + out.keypoints.square().sum()).backward()
    for name in ("shape", "pose_aa", "global_rot_aa", "transl"):
        grad = getattr(params, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_fast_keypoints_match_full_forward(body, make_params):
    params = make_params(body, (2, 2))
    names = ["left_wrist", "neck", "head_top"]
    fast = body.keypoints(params, names)
    full = body(params).keypoints[..., body.keypoint_indices(names), :]
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=0)


def test_every_layout_is_producible(body):
    out = body(body.neutral_params((2,)))
    for layout in LAYOUTS.values():
        keypoints, available = body.layout_keypoints(out, layout)
        assert keypoints.shape == (2, len(layout), 3) and bool(available.all()), layout.name


def test_unknown_keypoint_is_a_clear_error(body):
    with pytest.raises(BodyModelError, match="cannot produce keypoints"):
        body.keypoint_indices(["left_pinky_tip"])


def test_wrong_pose_size_is_a_clear_error(body):
    params = body.neutral_params((1,))
    params.pose_aa = torch.zeros(1, len(body.pose_joint_names) + 1, 3)
    with pytest.raises(BodyModelError, match="expected pose_aa"):
        body(params)


def test_inverse_skinning_round_trip(body, make_params):
    params = make_params(body, (2,))
    out = body(params)
    generator = torch.Generator().manual_seed(3)
    canonical = torch.randn(2, 50, 3, generator=generator) * 0.3
    weights = torch.softmax(torch.randn(2, 50, len(body.joint_names), generator=generator), -1)
    posed = skinning.skin_points(canonical, weights, out.joint_transforms)
    back = body.inverse_skin(posed, out, weights=weights)
    torch.testing.assert_close(back, canonical, atol=1e-4, rtol=0)


def test_reposed_attached_points_follow_the_body(body, make_params):
    """Points 1 mm off the surface in pose A, re-posed to pose B, land next to the same surface points in B."""
    source_params = make_params(body, (2,), seed=1)
    target_params = make_params(body, (2,), seed=2)
    target_params.shape = source_params.shape  # same people, two frames
    source, target = body(source_params), body(target_params)
    ids = torch.arange(0, body.num_vertices, max(1, body.num_vertices // 200))
    offset = 0.001 * torch.nn.functional.normalize(torch.randn(2, len(ids), 3, generator=torch.Generator().manual_seed(0)), dim=-1)
    points = source.vertices[:, ids] + offset
    moved = body.repose(points, source, target, k=4, sigma=0.01)
    error = (moved - target.vertices[:, ids]).norm(dim=-1)
    travel = (target.vertices[:, ids] - source.vertices[:, ids]).norm(dim=-1)
    assert float(travel.mean()) > 0.3  # the poses differ a lot
    # 1 cm: the offset plus SMPL-X's pose correctives, which skinning does not follow; the points travel > 30 cm.
    assert float(error.median()) < 0.01, float(error.median())


def test_params_json_round_trip(body, make_params, tmp_path):
    params = make_params(body, (2, 3))
    path = tmp_path / "params.json"
    body.save_params(path, params)
    loaded = body.load_params(path)
    for name in ("shape", "pose_aa", "global_rot_aa", "transl"):
        torch.testing.assert_close(getattr(loaded, name), getattr(params, name))


def test_skinning_gradcheck_float64():
    generator = torch.Generator().manual_seed(0)
    points = torch.randn(1, 5, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    weights = torch.softmax(torch.randn(5, 4, dtype=torch.float64, generator=generator), -1)
    transforms = torch.eye(4, dtype=torch.float64).repeat(1, 4, 1, 1)
    transforms[..., :3, :] += 0.1 * torch.randn(1, 4, 3, 4, dtype=torch.float64, generator=generator)
    transforms.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p, t: skinning.skin_points(p, weights, t), (points, transforms))
    assert torch.autograd.gradcheck(lambda p, t: skinning.unskin_points(p, weights, t), (points, transforms))
