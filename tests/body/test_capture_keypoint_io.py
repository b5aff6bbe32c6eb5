"""2D keypoint input: frame numbers from file names, OpenPose / EasyMocap / synthetic files, bad input flagged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from body.detection import PersonKeypoints, write_openpose_json
from body.detection.errors import DetectionError
from body.keypoint_io import KeypointSource, frame_files, frame_number, read_easymocap_annots


def test_frame_number_is_the_last_integer_of_the_name():
    assert frame_number("cam01.0012.json") == 12
    assert frame_number("video_000000000007_keypoints.json") == 7
    assert frame_number("000003.json") == 3
    assert frame_number("keypoints.json") is None


def test_two_files_of_one_frame_are_an_error(tmp_path):
    (tmp_path / "a_01.json").write_text("{}")
    (tmp_path / "b_1.json").write_text("{}")
    with pytest.raises(DetectionError, match="both map to frame 1"):
        frame_files(tmp_path)


def _openpose_file(path, people):
    """Raw OpenPose JSON (no layout key): people = list of (25, 3) arrays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": p.ravel().tolist()} for p in people]}))


def test_openpose_folders_pose2sim_names_and_bad_input(tmp_path):
    rng = np.random.default_rng(0)
    person = np.concatenate([rng.uniform(0, 500, (25, 2)), np.full((25, 1), 0.8)], axis=1)
    for frame in range(3):
        _openpose_file(tmp_path / "c1" / f"c1.{frame:04d}.json", [person, person + 10])
        _openpose_file(tmp_path / "c2" / f"run_{frame:012d}_keypoints.json", [person])
    (tmp_path / "c2" / "run_000000000001_keypoints.json").write_text("{not json")
    _openpose_file(tmp_path / "c1" / "c1.0002.json", [person[:20]])  # wrong joint count
    source = KeypointSource([tmp_path / "c1", tmp_path / "c2", tmp_path / "missing"], "openpose", "body25b")
    assert source.frames() == [0, 1, 2]
    assert any("missing" in message and "does not exist" in message for message in source.problems)

    first = source.read(0)
    assert [len(k) for k in first.keypoints] == [2, 1, 0] and first.layout == "body25b"
    np.testing.assert_allclose(first.keypoints[0][1], person[:, :2] + 10)
    np.testing.assert_allclose(first.confidence[1][0], 0.8)

    bad_json = source.read(1)
    assert [len(k) for k in bad_json.keypoints] == [2, 0, 0]
    assert any("run_000000000001_keypoints.json" in m and "not valid JSON" in m for m in bad_json.problems)
    bad_field = source.read(2)
    assert any("c1.0002.json" in m and "pose_keypoints_2d" in m for m in bad_field.problems)


def test_openpose_needs_a_layout(tmp_path):
    with pytest.raises(DetectionError, match="--layout"):
        KeypointSource([tmp_path], "openpose", None)


def test_easymocap_annots(tmp_path):
    keypoints = np.arange(75, dtype=float).reshape(25, 3) / 100.0
    document = {"filename": "images/01/000004.jpg", "annots": [{"personID": 3, "bbox": [0, 0, 1, 1, 1],
                                                                "keypoints": keypoints.tolist()}]}  # fmt: skip
    path = tmp_path / "01" / "000004.json"
    path.parent.mkdir()
    path.write_text(json.dumps(document))
    pixels, confidence = read_easymocap_annots(path)
    np.testing.assert_allclose(pixels[0], keypoints[:, :2])
    np.testing.assert_allclose(confidence[0], np.clip(keypoints[:, 2], 0, 1))
    detections = KeypointSource([tmp_path / "01"], "easymocap", None).read(4)
    assert detections.layout == "body25" and len(detections.keypoints[0]) == 1
    document["annots"][0]["keypoints"] = keypoints[:10].tolist()
    path.write_text(json.dumps(document))
    with pytest.raises(DetectionError, match=r"annots\[0\]\.keypoints"):
        read_easymocap_annots(path)


def test_synthetic_files_name_their_layout(tmp_path):
    person = PersonKeypoints(np.full((17, 2), 5.0), np.full(17, 0.9), "coco17")
    write_openpose_json(tmp_path / "cam00" / "000007.json", [person])
    source = KeypointSource([tmp_path / "cam00"], "synthetic", None)
    assert source.layout == "coco17"
    assert len(source.read(7).keypoints[0]) == 1 and source.read(8).problems
