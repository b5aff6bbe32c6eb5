"""BlazePose's 33 landmarks -> COCO-17 / BODY_25 (no mediapipe needed)."""

from __future__ import annotations

import numpy as np
import pytest

from body.detection.errors import DetectionError
from body.detection.mapping import BLAZEPOSE_LANDMARKS, blazepose_to_layout
from body.keypoint_layouts import get_layout


def _landmarks(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1000, size=(33, 2)), rng.uniform(0.2, 1.0, size=33)


def test_coco17_joints_are_the_same_landmarks():
    landmarks, confidence = _landmarks()
    keypoints, out_conf = blazepose_to_layout(landmarks, confidence, "coco17")
    layout = get_layout("coco17")
    for joint, name in enumerate(layout.keypoints):
        source = BLAZEPOSE_LANDMARKS.index(name)
        np.testing.assert_array_equal(keypoints[joint], landmarks[source])
        assert out_conf[joint] == confidence[source]
    # convention pin: COCO's left eye is BlazePose's eye centre (2), not the inner (1) or outer (3) corner
    np.testing.assert_array_equal(keypoints[layout.index("left_eye")], landmarks[2])


def test_body25_neck_and_mid_hip_are_averages_with_the_smaller_confidence():
    landmarks, confidence = _landmarks(1)
    keypoints, out_conf = blazepose_to_layout(landmarks, confidence, "body25")
    layout = get_layout("body25")
    neck, mid_hip = layout.index("neck"), layout.index("mid_hip")
    np.testing.assert_allclose(keypoints[neck], (landmarks[11] + landmarks[12]) / 2)
    np.testing.assert_allclose(keypoints[mid_hip], (landmarks[23] + landmarks[24]) / 2)
    assert out_conf[neck] == min(confidence[11], confidence[12])
    assert out_conf[mid_hip] == min(confidence[23], confidence[24])


def test_body25_feet_heels_and_foot_index_as_big_toe_no_small_toe():
    landmarks, confidence = _landmarks(2)
    keypoints, out_conf = blazepose_to_layout(landmarks, confidence, "body25")
    layout = get_layout("body25")
    np.testing.assert_array_equal(keypoints[layout.labels.index("LHeel")], landmarks[29])
    np.testing.assert_array_equal(keypoints[layout.labels.index("RBigToe")], landmarks[32])
    for label in ("LSmallToe", "RSmallToe"):
        assert out_conf[layout.labels.index(label)] == 0.0
    assert np.count_nonzero(out_conf) == 23  # every BODY_25 joint but the two small toes


def test_missing_shoulder_makes_the_neck_missing():
    landmarks, confidence = _landmarks(3)
    confidence[12] = 0.0
    keypoints, out_conf = blazepose_to_layout(landmarks, confidence, "body25")
    neck = get_layout("body25").index("neck")
    assert out_conf[neck] == 0.0 and np.all(keypoints[neck] == 0.0)


def test_wrong_shape_is_rejected_with_expected_and_received():
    with pytest.raises(DetectionError, match=r"expected landmarks \(33, D\).*\(17, 2\)"):
        blazepose_to_layout(np.zeros((17, 2)), np.zeros(17), "coco17")
