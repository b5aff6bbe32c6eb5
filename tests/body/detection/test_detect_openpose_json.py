"""OpenPose JSON output: round trip, the format OpenPose readers expect, real OpenPose files (no mediapipe)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from detect_helpers import POSE2SIM, needs_pose2sim, random_person

from body.detection.errors import DetectionError
from body.detection.openpose_json import read_openpose_json, write_openpose_json


def test_openpose_json_round_trip_and_format(tmp_path):
    people = [random_person(0).to_layout("body25"), random_person(300).to_layout("body25")]
    path = write_openpose_json(tmp_path / "cam" / "000000.json", people, detector="test")
    document = json.loads(path.read_text())
    assert document["version"] == 1.3 and document["layout"] == "body25" and document["detector"] == "test"
    flat = document["people"][0]["pose_keypoints_2d"]
    assert len(flat) == 75
    missing = np.flatnonzero(people[0].confidence == 0)
    assert all(flat[3 * j : 3 * j + 3] == [0, 0, 0] for j in missing)  # OpenPose writes missing joints as zeros
    back = read_openpose_json(path)
    assert len(back) == 2
    for a, b in zip(people, back):
        valid = a.confidence > 0
        np.testing.assert_allclose(b.keypoints[valid], a.keypoints[valid], atol=1e-3)
        np.testing.assert_allclose(b.confidence, a.confidence, atol=1e-3)
        np.testing.assert_allclose(b.bbox, a.bbox, atol=1e-2)


def test_read_openpose_json_needs_a_layout_and_the_right_count(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": [1.0, 2.0, 0.5] * 17}]}))
    with pytest.raises(DetectionError, match="names no 'layout'"):
        read_openpose_json(path)
    with pytest.raises(DetectionError, match="expected 75 numbers"):
        read_openpose_json(path, layout="body25")
    assert read_openpose_json(path, layout="coco17")[0].keypoints.shape == (17, 2)


@needs_pose2sim
def test_reads_real_openpose_body25b_output():
    path = POSE2SIM / "pose_openpose_json_BODY25B" / "cam01_json" / "cam01.0000.json"
    people = read_openpose_json(path, layout="body25b")
    assert len(people) == 2  # the subject and the bystander
    assert people[0].keypoints.shape == (25, 2)
    assert 200 < people[0].box_size < 1000
