"""Instance split on primitive scenes: capsule "bodies" inside slightly fatter capsule "clothes"."""

import numpy as np
import pytest

from render import render
from render.primitives import box, capsule, look_at_camera
from segmentation.errors import SegmentationError
from segmentation.instances import SplitConfig, occlusion_masks, split_foreground
from segmentation.metrics import mask_iou, person_iou
from segmentation.projection import body_fields, focal_px, render_person_depths


def _camera():
    return look_at_camera("front", (0.0, -4.0, 1.0), (0.0, 0.0, 0.9), size=160)


def _fields(bodies, camera):
    return body_fields(render_person_depths(bodies, [camera])[:, 0], focal_px(camera))


def test_fields_measure_metres_at_the_body_depth(taichi_arch):
    camera = _camera()
    fields = _fields([capsule(0.15, 1.7, center=(0.0, 0.0, 0.85))], camera)
    assert fields.distance.shape == (1, 160, 160)
    inside = np.isfinite(fields.depth[0])
    assert np.all(fields.distance[0][inside] == 0)
    # a pixel k px right of the silhouette is k * depth / focal metres away (depth ~ 3.85 m at the side)
    row = 80
    edge = np.flatnonzero(inside[row]).max()
    metres = fields.distance[0, row, edge + 10]
    assert metres == pytest.approx(10 * fields.near_depth[0, row, edge + 10] / focal_px(camera), rel=0.05)
    assert 0.1 < metres < 0.3


def test_nearer_persons_clothes_win_over_the_farther_body(taichi_arch):
    camera = _camera()
    bodies = [capsule(0.15, 1.7, center=(-0.12, -0.5, 0.85)), capsule(0.15, 1.7, center=(0.12, 0.5, 0.85))]
    clothes = [capsule(0.17, 1.74, center=(-0.12, -0.5, 0.87)), capsule(0.17, 1.74, center=(0.12, 0.5, 0.87))]
    truth = render(clothes, [camera]).instance_id
    fields = _fields(bodies, camera)
    index, occluded = split_foreground(truth[0] >= 0, fields)
    iou = person_iou(index[None], truth, 2)
    assert np.nanmin(iou) > 0.95
    # the front person's clothing rim over the back person's body belongs to the front person
    rim = (fields.depth[0] < np.inf) & ~np.isfinite(fields.depth[1]) & (truth[0] == 0)
    rim_over_back = (fields.distance[0] > 0) & np.isfinite(fields.depth[1]) & (truth[0] == 0)
    assert rim.sum() > 0 and rim_over_back.sum() > 20
    assert np.mean(index[rim_over_back] == 0) > 0.9
    # the back person (1) is hidden where the front one covers its projection; the front one is never hidden
    solo_back = render([clothes[1]], [camera]).mask[0]
    assert mask_iou(occluded[1], solo_back & (truth[0] == 0)) > 0.8
    assert not occluded[0].any()


def test_loose_clothing_goes_to_the_body_it_is_attached_to(taichi_arch):
    camera = _camera()
    bodies = [capsule(0.12, 1.7, center=(-0.45, 0.0, 0.85)), capsule(0.12, 1.7, center=(0.45, 0.0, 0.85))]
    bag = box((0.45, 0.2, 0.3), center=(-0.13, 0.0, 1.0))  # attached to person 0, its tip 0.1 m from person 1
    truth = render([*bodies, bag], [camera]).instance_id[0]
    foreground = truth >= 0
    fields = _fields(bodies, camera)
    index, _ = split_foreground(foreground, fields, SplitConfig(reach=0.5))
    bag_pixels = truth == 2
    assert np.mean(index[bag_pixels] == 0) > 0.97  # geodesic growth; nearest-body would give part of it to 1
    nearest = np.argmin(fields.distance, axis=0)
    assert np.mean(nearest[bag_pixels] == 1) > 0.1


def test_foreground_far_from_every_body_is_not_a_person(taichi_arch):
    camera = _camera()
    fields = _fields([capsule(0.15, 1.7, center=(0.0, 0.0, 0.85))], camera)
    foreground = np.zeros((160, 160), bool)
    foreground[5:15, 5:15] = True  # a blob in the corner, metres away
    index, occluded = split_foreground(foreground, fields, SplitConfig(reach=0.3))
    assert (index == -1).all() and not occluded.any()


def test_occlusion_needs_the_occluder_in_front(taichi_arch):
    camera = _camera()
    bodies = [capsule(0.15, 1.7, center=(0.0, -0.6, 0.85)), capsule(0.15, 1.7, center=(0.1, 0.6, 0.85))]
    fields = _fields(bodies, camera)
    visible = fields.visible()
    occluded = occlusion_masks(visible, fields, margin=0.0)
    both = np.isfinite(fields.depth).all(axis=0)
    np.testing.assert_array_equal(occluded[1], both)  # back person hidden exactly where both project
    assert not occluded[0].any()


def test_split_checks_the_foreground_shape(taichi_arch):
    fields = _fields([capsule(0.15, 1.7)], _camera())
    with pytest.raises(SegmentationError, match=r"expected shape \(160, 160\)"):
        split_foreground(np.zeros((10, 10), bool), fields)
    with pytest.raises(SegmentationError, match="smooth_size"):
        SplitConfig(smooth_size=4)
