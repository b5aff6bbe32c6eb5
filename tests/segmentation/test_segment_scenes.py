"""Accuracy on small synthetic Anny scenes (160 px, 6 views): the issue's targets, and occlusion marks."""

import numpy as np
import pytest

from segmentation.errors import SegmentationError
from segmentation.frame import FrameInputs, SegmentConfig, segment_frame, working_scale
from segmentation.metrics import mask_iou, person_iou


def _segment(scene, source="masks"):
    inputs = FrameInputs(masks=list((scene.gt_index >= 0).astype(np.uint8)), images=list(scene.images))
    return segment_frame(scene.cameras, scene.bodies, scene.person_ids, source, inputs)


@pytest.mark.parametrize("name, target", [("natural_scene", 0.95), ("close_scene", 0.90)])
def test_person_iou_with_ground_truth_bodies(request, name, target):
    scene = request.getfixturevalue(name)
    result = _segment(scene)
    index, occluded = np.stack(result.index), np.stack(result.occluded, axis=1)
    iou = person_iou(index, scene.gt_index, len(scene.person_ids))
    assert np.nanmean(iou) >= target
    # the label maps only hold the given foreground
    np.testing.assert_array_equal(index >= 0, scene.gt_index >= 0)
    # hidden parts: the predicted marks overlap the true ones (dilated bodies vs clothed truth)
    assert mask_iou(occluded, scene.gt_occluded) > 0.5
    hidden = occluded.any(axis=0)
    assert (index[hidden] >= 0).all()


def test_grabcut_without_masks(close_scene):
    result = _segment(close_scene, "grabcut")
    assert mask_iou(result.foreground, close_scene.gt_index >= 0) > 0.85
    assert np.nanmean(person_iou(np.stack(result.index), close_scene.gt_index, 2)) > 0.8


@pytest.fixture(scope="module")
def tall_scene(anny_body, taichi_arch):
    """Three 640 x 640 cameras (30 deg) on a 4.5 m circle: people about 450 px tall, as in HD captures."""
    from calibration.ring_rig import ring_rig
    from synth.segmentation_scenes import make_scene

    cameras = list(ring_rig(3, radius=4.5, image_size=(640, 640), fov_deg=30.0).cameras)
    return make_scene(anny_body, "natural", cameras, num_people=2, seed=0)


@pytest.mark.parametrize("source", ["masks", "grabcut"])
def test_a_working_resolution_keeps_the_accuracy_at_full_resolution(tall_scene, source):
    """Segmented at 320 px (half size) and brought back: label maps at full size, as accurate as at full size."""
    inputs = FrameInputs(masks=list((tall_scene.gt_index >= 0).astype(np.uint8)), images=list(tall_scene.images))
    args = (tall_scene.cameras, tall_scene.bodies, tall_scene.person_ids, source, inputs)
    full = segment_frame(*args, SegmentConfig(working_max_side=640))
    half = segment_frame(*args, SegmentConfig(working_max_side=320, min_person_px=0))
    assert [a.shape for a in half.index] == [a.shape for a in full.index] == [(640, 640)] * 3
    assert [a.shape for a in half.occluded] == [a.shape for a in full.occluded] == [(2, 640, 640)] * 3
    people = len(tall_scene.person_ids)
    full_iou = np.nanmean(person_iou(np.stack(full.index), tall_scene.gt_index, people))
    half_iou = np.nanmean(person_iou(np.stack(half.index), tall_scene.gt_index, people))
    assert half_iou > full_iou - 0.01
    if source == "masks":  # the given masks are kept at full resolution, every foreground pixel gets a person
        np.testing.assert_array_equal(np.stack(half.index) >= 0, tall_scene.gt_index >= 0)
    else:
        assert mask_iou(half.foreground, tall_scene.gt_index >= 0) > mask_iou(full.foreground, tall_scene.gt_index >= 0) - 0.01


def test_a_working_resolution_refuses_an_input_of_another_size(natural_scene):
    masks = [np.ones((10, 10), np.uint8)] * len(natural_scene.cameras)
    with pytest.raises(SegmentationError, match=r"view 0 \(.*\): mask is 10x10, the camera is 160x160"):
        segment_frame(natural_scene.cameras, natural_scene.bodies, natural_scene.person_ids, "masks",
                      FrameInputs(masks=masks), SegmentConfig(working_max_side=80, min_person_px=0))  # fmt: skip


def test_the_working_resolution_keeps_people_tall_enough(natural_scene):
    camera, bodies = natural_scene.cameras[0], natural_scene.bodies
    assert working_scale(camera, bodies, SegmentConfig(working_max_side=80, min_person_px=0)) == 0.5
    smallest = working_scale(camera, bodies, SegmentConfig(working_max_side=1, min_person_px=1))  # 1 px / height
    assert 0.5 < working_scale(camera, bodies, SegmentConfig(working_max_side=80, min_person_px=100)) == min(1.0, 100 * smallest)
    assert working_scale(camera, [], SegmentConfig(working_max_side=80, min_person_px=100)) == 0.5


