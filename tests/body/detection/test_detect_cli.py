"""`capture keypoints` on a tiny capture folder made from two real Pose2Sim frames of two cameras."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from detect_helpers import POSE2SIM, decode_frames, needs_mediapipe, needs_pose2sim

from body.detection.openpose_json import read_openpose_json
from calibration.formats import import_rig
from calibration.rig import CaptureLayout, Rig
from calibration.rig_file import save_rig
from capture.cli import UserFacingError
from capture.commands import keypoints

pytestmark = [needs_mediapipe, needs_pose2sim]
CAMERAS = ("cam01", "cam03")
FRAMES = (0, 40)


@pytest.fixture(scope="module")
def capture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """images/<cam>/<frame:06d>.png for 2 cameras x 2 frames, and a rig.yaml from the Pose2Sim TOML."""
    root = tmp_path_factory.mktemp("capture")
    for camera in CAMERAS:
        for frame, image in decode_frames(camera, list(FRAMES)).items():
            (root / "images" / camera).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "images" / camera / f"{frame:06d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    toml = POSE2SIM / "calibration" / "Calib_qualisys_converted.toml"
    rig = import_rig("anipose", [toml]).subset(list(CAMERAS))
    save_rig(Rig(rig.cameras, CaptureLayout(images=root / "images")), root / "rig.yaml")
    return root


def _run(argv: list[str], monkeypatch, cache: Path) -> int:
    monkeypatch.setenv("MULTICAP_CACHE_DIR", str(cache))
    parser = argparse.ArgumentParser()
    keypoints.register(parser.add_subparsers())
    args = parser.parse_args(["keypoints", *argv])
    return args.func(args)


def test_writes_openpose_json_per_view_and_frame_with_an_overlay(
    capture_dir, tmp_path, monkeypatch, detector_cache, capsys
):
    run = tmp_path / "run"
    argv = ["--rig", str(capture_dir / "rig.yaml"), "--out", str(run), "--overlay-frame", "40"]
    assert _run(argv, monkeypatch, detector_cache) == 0
    for camera in CAMERAS:
        for frame in FRAMES:
            path = run / "keypoints" / camera / f"{frame:06d}.json"
            document = json.loads(path.read_text())
            assert document["layout"] == "body25" and document["detector"] == "blazepose"
            assert all(len(p["pose_keypoints_2d"]) == 75 for p in document["people"])
            people = read_openpose_json(path, layout="body25")  # what an OpenPose reader does
            assert people and people[0].box_size > 500  # the subject is ~700-800 px tall in these views
        overlay = cv2.imread(str(run / "report" / "keypoints" / f"{camera}_000040.png"))
        image = cv2.imread(str(capture_dir / "images" / camera / "000040.png"))
        # cam01 decodes 1080 wide, calibrated 1088: drawn on the image padded to the calibrated size
        assert overlay.shape == (1920, 1088, 3) and image.shape[0] == 1920 and image.shape[1] in (1080, 1088)
        assert np.any(overlay[:, : image.shape[1]] != image)
    assert "wrote 4 keypoint files" in capsys.readouterr().out

    stamps = {p: p.stat().st_mtime_ns for p in (run / "keypoints").rglob("*.json")}
    assert _run(argv, monkeypatch, detector_cache) == 0  # rerun: everything skipped
    assert "wrote 0 keypoint files" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())
    assert _run(argv + ["--force", "--cameras", "cam03", "--layout", "coco17"], monkeypatch, detector_cache) == 0
    assert "wrote 2 keypoint files" in capsys.readouterr().out
    assert json.loads((run / "keypoints" / "cam03" / "000000.json").read_text())["layout"] == "coco17"


def test_image_size_that_does_not_fit_the_calibration_is_an_error(capture_dir, tmp_path, monkeypatch, detector_cache):
    from calibration.rig_file import load_rig

    rig = load_rig(capture_dir / "rig.yaml")
    small = Rig(tuple(c.replace(width=540, height=960) for c in rig.cameras), rig.layout)
    save_rig(small, tmp_path / "rig.yaml")
    with pytest.raises(UserFacingError, match="images are 1080x1920 but the rig says 540x960"):
        _run(["--rig", str(tmp_path / "rig.yaml"), "--out", str(tmp_path / "run")], monkeypatch, detector_cache)


def test_unknown_camera_and_detector_are_clear_errors(capture_dir, tmp_path, monkeypatch, detector_cache):
    base = ["--rig", str(capture_dir / "rig.yaml"), "--out", str(tmp_path / "run")]
    with pytest.raises(UserFacingError, match=r"unknown camera\(s\) \['cam09'\]"):
        _run(base + ["--cameras", "cam09"], monkeypatch, detector_cache)
    with pytest.raises(UserFacingError, match="did you mean 'blazepose'"):
        _run(base + ["--detector", "blazepos"], monkeypatch, detector_cache)
