"""Training point sampling (labels, balance, visibility-dependent sigma) and occlusion augmentation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from implicit.config import SamplingConfig
from implicit.sampling import augment_occlusion, occupancy_labels, sample_training_points, visible_in_any_view
from calibration.ring_rig import ring_rig
from render import primitives, render

CENTER = np.array([0.0, 0.0, 0.9])


@pytest.fixture(scope="module")
def sphere_scene():
    sphere = primitives.icosphere(0.3, center=CENTER, subdivisions=4)
    cameras = list(ring_rig(3, radius=3.5, image_size=(96, 96), fov_deg=50.0).cameras)
    return sphere, cameras, render(sphere, cameras).depth


def test_sphere_labels_are_correct_and_balanced(sphere_scene):
    sphere, cameras, depth = sphere_scene
    config = SamplingConfig(points=2000)
    points, labels = sample_training_points(sphere, cameras, depth, config, np.random.default_rng(0))
    assert points.shape == (2000, 3) and labels.shape == (2000,)
    assert labels.mean() == pytest.approx(0.5)
    radius = np.linalg.norm(points - CENTER, axis=1)
    clear = np.abs(radius - 0.3) > 0.005  # the icosphere's faceting lies within ~1 mm of the sphere
    assert np.array_equal(labels[clear] > 0.5, radius[clear] < 0.3)


def test_a_share_of_points_lies_around_the_other_people_and_is_outside(sphere_scene):
    sphere, cameras, depth = sphere_scene
    near = primitives.icosphere(0.25, center=CENTER + [0.9, 0.0, 0.0], subdivisions=3)  # within reach
    far = primitives.icosphere(0.25, center=CENTER + [3.0, 0.0, 0.0], subdivisions=3)  # beyond reach
    config = SamplingConfig(points=2000, other_people_fraction=0.1, other_people_reach=0.6)
    points, labels = sample_training_points(sphere, cameras, depth, config, np.random.default_rng(2), [near, far])
    assert points.shape == (2000, 3)
    # the person's own points stay within 0.4 m of its centre (0.3 m + 0.1 m padding): these are all the others'
    around_near = np.linalg.norm(points - (CENTER + [0.9, 0.0, 0.0]), axis=1) < 0.25 + 3 * config.sigma_hidden
    assert 190 <= around_near.sum() <= 200 and not labels[around_near].any()
    assert points[around_near, 0].max() <= CENTER[0] + 0.3 + 0.6  # within reach of the person's box
    assert np.linalg.norm(points - (CENTER + [3.0, 0.0, 0.0]), axis=1).min() > 1.0
    main = ~around_near
    assert labels[main].mean() == pytest.approx(0.5, abs=0.01)  # the person's own points stay balanced
    alone, _ = sample_training_points(sphere, cameras, depth, config, np.random.default_rng(2))
    assert not (np.linalg.norm(alone - (CENTER + [0.9, 0.0, 0.0]), axis=1) < 0.4).any()


def test_same_seed_same_points(sphere_scene):
    sphere, cameras, depth = sphere_scene
    config = SamplingConfig(points=300)
    a = sample_training_points(sphere, cameras, depth, config, np.random.default_rng(5))
    b = sample_training_points(sphere, cameras, depth, config, np.random.default_rng(5))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_hidden_surface_gets_the_larger_sigma(sphere_scene):
    sphere, _, _ = sphere_scene
    camera = primitives.look_at_camera("front", (0.0, -3.0, 0.9), CENTER, size=96)  # sees only the -y half
    depth = render(sphere, [camera]).depth
    config = SamplingConfig(points=3000, sigma_visible=0.005, sigma_hidden=0.08, uniform_fraction=0.0)
    points, _ = sample_training_points(sphere, [camera], depth, config, np.random.default_rng(1))
    offset = np.abs(np.linalg.norm(points - CENTER, axis=1) - 0.3)
    front, back = points[:, 1] < CENTER[1] - 0.15, points[:, 1] > CENTER[1] + 0.15
    assert np.median(offset[front]) < 0.01 < np.median(offset[back])


def test_visibility_respects_occluders():
    sphere = primitives.icosphere(0.3, center=CENTER, subdivisions=3)
    wall = primitives.box((2.0, 0.05, 2.0), center=(0.0, -1.0, 0.9))
    camera = primitives.look_at_camera("front", (0.0, -3.0, 0.9), CENTER, size=96)
    front_point = np.array([[0.0, -0.3, 0.9]])
    assert visible_in_any_view(front_point, [camera], render(sphere, [camera]).depth, 0.02).all()
    assert not visible_in_any_view(front_point, [camera], render([sphere, wall], [camera]).depth, 0.02).any()


def test_occupancy_labels_of_a_box():
    box = primitives.box((1.0, 1.0, 1.0))
    labels = occupancy_labels(box, np.array([[0.0, 0.0, 0.0], [0.4, -0.4, 0.4], [0.6, 0.0, 0.0], [0.0, 0.0, -0.7]]))
    assert labels.tolist() == [True, True, False, False]


def test_occlusion_augmentation_marks_pasted_pixels_unobserved():
    size, views = 48, 4
    masks = np.zeros((views, size, size), bool)
    masks[:, 10:40, 18:30] = True
    unobserved = np.zeros_like(masks)
    unobserved[:, 0:5, 0:5] = True
    occluder = np.zeros((size, size), bool)
    occluder[5:45, 15:33] = True
    config = dataclasses.replace(SamplingConfig(), occluder_probability=1.0, blob_probability=1.0)
    new_masks, new_unobserved, pasted = augment_occlusion(masks, unobserved, [occluder], config, np.random.default_rng(0))
    assert pasted.any(axis=(1, 2)).all()
    assert new_unobserved[pasted].all() and not new_masks[pasted].any()
    assert np.array_equal(new_masks, masks & ~pasted)
    assert new_unobserved[:, 0:5, 0:5].all()  # what was hidden stays hidden
    assert (new_masks.sum() < masks.sum()) and np.array_equal(new_unobserved & ~pasted, unobserved & ~pasted)
    off = dataclasses.replace(config, occluder_probability=0.0, blob_probability=0.0)
    same = augment_occlusion(masks, unobserved, [occluder], off, np.random.default_rng(0))
    assert np.array_equal(same[0], masks) and not same[2].any()
