"""Accuracy on small synthetic Anny scenes (160 px, 6 views): the issue's targets, and occlusion marks."""

import numpy as np
import pytest

from segmentation.frame import FrameInputs, segment_frame
from segmentation.metrics import mask_iou, person_iou


def _segment(scene, source="masks"):
    inputs = FrameInputs(masks=list((scene.gt_index >= 0).astype(np.uint8)), images=list(scene.images))
    return segment_frame(scene.cameras, scene.bodies, scene.person_ids, source, inputs)


@pytest.mark.parametrize("name, target", [("natural_scene", 0.95), ("close_scene", 0.90)])
def test_person_iou_with_ground_truth_bodies(request, name, target):
    scene = request.getfixturevalue(name)
    result = _segment(scene)
    iou = person_iou(result.index, scene.gt_index, len(scene.person_ids))
    assert np.nanmean(iou) >= target
    # the label maps only hold the given foreground
    np.testing.assert_array_equal(result.index >= 0, scene.gt_index >= 0)
    # hidden parts: the predicted marks overlap the true ones (dilated bodies vs clothed truth)
    assert mask_iou(result.occluded, scene.gt_occluded) > 0.5
    hidden = result.occluded.any(axis=0)
    assert (result.index[hidden] >= 0).all()


def test_grabcut_without_masks(close_scene):
    result = _segment(close_scene, "grabcut")
    assert mask_iou(result.foreground, close_scene.gt_index >= 0) > 0.85
    assert np.nanmean(person_iou(result.index, close_scene.gt_index, 2)) > 0.8
