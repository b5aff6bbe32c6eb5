"""make_motion: determinism, smoothness, floor contact, separation and what each category promises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synth.motion import CLOSE_GAP, NATURAL_GAP, SCENE_RADIUS, MotionError, PeopleMotion, _min_gap, make_motion
from synth.poses import JOINT_LIMITS

FRAMES = 8


def _posed(body, motion: PeopleMotion):
    with torch.no_grad():
        out = body(motion.params)
    return out.vertices.double().numpy(), out.keypoints.double().numpy()


def _exact_gap(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.spatial import cKDTree

    return min(float(cKDTree(a[t]).query(b[t])[0].min()) for t in range(len(a)))


@pytest.fixture(scope="module")
def motions(anny_body):
    specs = {"single": 1, "natural": 3, "close": 2, "crossing": 2, "enter_leave": 2}
    return {c: make_motion(anny_body, c, p, FRAMES, seed=4) for c, p in specs.items()}


def test_shapes_and_api(motions, anny_body):
    motion = motions["natural"]
    assert motion.params.batch_shape == (3, FRAMES)
    assert motion.params.shape.shape == (3, 1, len(anny_body.shape_names))
    assert motion.person_ids == (0, 1, 2) and motion.fps == 30.0
    assert motion.present.shape == (3, FRAMES) and motion.present.dtype == bool
    bounds = anny_body.shape_bounds.numpy()
    shapes = motion.params.shape.numpy()[:, 0]
    assert np.all(shapes >= bounds[:, 0]) and np.all(shapes <= bounds[:, 1])


def test_deterministic_for_a_seed(anny_body, motions):
    again = make_motion(anny_body, "close", 2, FRAMES, seed=4)
    assert torch.equal(again.params.pose_aa, motions["close"].params.pose_aa)
    assert torch.equal(again.params.transl, motions["close"].params.transl)
    other = make_motion(anny_body, "close", 2, FRAMES, seed=5)
    assert not torch.equal(other.params.pose_aa, again.params.pose_aa)


@pytest.mark.parametrize("category", ["single", "natural", "close", "crossing", "enter_leave"])
def test_smooth_on_the_floor_within_limits(anny_body, motions, category):
    motion = motions[category]
    vertices, keypoints = _posed(anny_body, motion)
    # feet on the floor: the lowest vertex of every person in every frame at z = 0 (1 mm)
    assert np.abs(vertices[..., 2].min(-1)).max() < 1e-3
    # smooth: no keypoint faster than 6 m/s (a walking foot peaks near 5 m/s), accelerations bounded
    velocity = np.diff(keypoints, axis=1) * motion.fps
    assert np.linalg.norm(velocity, axis=-1).max() < 6.0
    acceleration = np.diff(keypoints, 2, axis=1) * motion.fps**2
    assert np.linalg.norm(acceleration, axis=-1).max() < 60.0
    limits = np.array([JOINT_LIMITS[n] for n in anny_body.pose_joint_names])
    assert np.all(motion.params.pose_aa.norm(dim=-1).numpy() <= limits + 1e-5)


def test_natural_people_stay_apart(anny_body, motions):
    vertices, _ = _posed(anny_body, motions["natural"])
    gaps = [_exact_gap(vertices[i], vertices[j]) for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > NATURAL_GAP - 0.02  # subsampled test in make_motion: 2 cm slack


def test_close_people_nearly_touch_without_interpenetrating(anny_body, motions):
    vertices, _ = _posed(anny_body, motions["close"])
    gap = _exact_gap(vertices[0], vertices[1])
    assert 0.0 < gap < 0.05
    assert gap > CLOSE_GAP[0] - 0.01


def test_crossing_people_pass_each_other(anny_body, motions):
    motion = motions["crossing"]
    xy = motion.params.transl[..., :2].numpy()
    heading = xy[0, -1] - xy[0, 0]
    heading /= np.linalg.norm(heading)
    order = (xy[0] - xy[1]) @ heading  # person 0's lead over person 1 along 0's walking direction
    assert order[0] < 0 < order[-1]
    vertices, _ = _posed(anny_body, motion)
    assert _exact_gap(vertices[0], vertices[1]) > 0.05


def test_enter_leave_changes_presence(motions):
    motion = motions["enter_leave"]
    assert motion.present[0].all()
    walker = motion.present[1]
    assert walker.any() and not walker.all()
    assert np.count_nonzero(np.diff(walker.astype(int))) == 1  # one entrance or one exit
    r = np.linalg.norm(motion.params.transl[1, :, :2].numpy(), axis=-1)
    assert np.array_equal(walker, r <= SCENE_RADIUS)


def test_static_scene_and_errors(anny_body):
    for category in ("natural", "close"):
        motion = make_motion(anny_body, category, 2, 1, seed=1)
        assert motion.params.batch_shape == (2, 1) and motion.present.all()
    with pytest.raises(MotionError, match="category"):
        make_motion(anny_body, "dancing", 1, 1)
    with pytest.raises(MotionError, match="num_people"):
        make_motion(anny_body, "close", 1, 1)


def test_min_gap_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 50, 3)), rng.normal(size=(2, 50, 3)) + 3.0
    brute = min(np.linalg.norm(a[t, ::2, None] - b[t, None, ::2], axis=-1).min() for t in range(2))
    assert _min_gap(a, b) == pytest.approx(brute)
