"""PersonKeypoints: validation, defaults, translation and layout conversion (no mediapipe needed)."""

from __future__ import annotations

import numpy as np
import pytest

from detect_helpers import random_person

from body.detection.errors import DetectionError
from body.detection.people import PersonKeypoints


def test_defaults_box_of_confident_joints_and_mean_confidence_score():
    person = random_person()
    valid = person.confidence > 0
    np.testing.assert_allclose(person.bbox[:2], person.keypoints[valid].min(axis=0))
    np.testing.assert_allclose(person.bbox[2:], person.keypoints[valid].max(axis=0))
    assert person.score == pytest.approx(person.confidence[valid].mean())


def test_wrong_shapes_and_confidences_are_rejected():
    with pytest.raises(DetectionError, match=r"expected keypoints \(25, 2\)"):
        PersonKeypoints(np.zeros((17, 2)), np.ones(17), "body25")
    with pytest.raises(DetectionError, match=r"confidences in \[0, 1\]"):
        PersonKeypoints(np.zeros((17, 2)), np.full(17, 2.0), "coco17")


def test_translated_and_to_layout():
    person = random_person()
    moved = person.translated(np.array([5.0, -3.0]))
    np.testing.assert_allclose(moved.keypoints - person.keypoints, np.tile([5.0, -3.0], (17, 1)))
    np.testing.assert_allclose(moved.bbox - person.bbox, [5.0, -3.0, 5.0, -3.0])
    body25 = person.to_layout("body25")
    assert body25.layout == "body25" and body25.keypoints.shape == (25, 2)
    np.testing.assert_allclose(body25.keypoints[1], person.keypoints[5:7].mean(axis=0))  # Neck
    assert body25.score == person.score
