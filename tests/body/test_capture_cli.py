"""`capture body` end to end on a tiny synthetic capture: outputs, resume, and bad input that must not crash."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from capture_helpers import walking_people

from synth.body_capture import simulate_capture
from body.capture_io import read_body_frame
from body.detection import PersonKeypoints, write_openpose_json
from synth.detector_sim import DetectorNoise
from calibration.rig import CaptureLayout, Rig
from calibration.rig_file import save_rig
from calibration.ring_rig import ring_rig
from capture.commands import body as body_command

FRAMES = 5


def run(argv: list[str]) -> int:
    """Parse ``capture body ...`` with the command's own parser (independent of capture.cli's registry)."""
    parser = argparse.ArgumentParser()
    body_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["body", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def capture_dir(anny_body, tmp_path_factory):
    """rig.yaml + keypoints/<camera>/<frame:06d>.json ('synthetic' format) of 2 people walking, 4 views."""
    root = tmp_path_factory.mktemp("capture")
    rig = ring_rig(4, image_size=(320, 320))
    params = walking_people(anny_body, [[-0.6, 0.4], [0.6, -0.4]], [[-0.3, 0.4], [0.3, -0.4]], FRAMES)
    capture = simulate_capture(anny_body, params, np.ones((2, FRAMES), bool), rig, noise=DetectorNoise(false_rate=0.3))
    for frame in capture.detections:
        for camera, keypoints, confidence in zip(rig, frame.keypoints, frame.confidence):
            people = [PersonKeypoints(k, c, "body25") for k, c in zip(keypoints, confidence)]
            write_openpose_json(root / "keypoints" / camera.name / f"{frame.frame:06d}.json", people, detector="sim")
    layout = CaptureLayout(keypoints=root / "keypoints", keypoint_format="synthetic")
    save_rig(Rig(rig.cameras, layout), root / "rig.yaml")
    return root, capture


def test_capture_body_writes_frames_overlays_and_resumes(capture_dir, tmp_path, capsys):
    root, capture = capture_dir
    out = tmp_path / "run"
    assert run(["--rig", str(root / "rig.yaml"), "--out", str(out), "--fit-iterations", "15"]) == 0
    files = sorted((out / "body").glob("*.json"))
    assert [f.name for f in files] == [f"{t:06d}.json" for t in range(FRAMES)]
    document = json.loads(files[2].read_text())
    assert document["frame"] == 2 and len(document["people"]) == 2
    person = document["people"][0]
    assert person["keypoints3d"]["layout"] == "body25" and len(person["keypoints3d"]["xyz_conf"]) == 25
    assert person["body"]["model"] == "anny" and person["body"]["params"]["batch_shape"] == []
    frame, people = read_body_frame(files[2])
    assert frame == 2 and sorted(p.id for p in people) == [0, 1]
    for p in people:  # each id follows one ground-truth person, within a few cm
        seen = p.confidence > 0
        error = np.linalg.norm(capture.keypoints[:, 2][:, seen] - p.keypoints[seen], axis=-1).mean(-1)
        assert error.min() < 0.03 and p.params is not None and not p.interpolated
    assert len(list((out / "report" / "body").glob("*.png"))) == 4

    files[1].unlink()
    capsys.readouterr()
    assert run(["--rig", str(root / "rig.yaml"), "--out", str(out), "--no-fit"]) == 0
    assert "wrote 1 frames" in capsys.readouterr().out and files[1].exists()
    assert run(["--rig", str(root / "rig.yaml"), "--out", str(out)]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_bad_input_flags_frames_instead_of_crashing(capture_dir, tmp_path):
    root, _ = capture_dir
    keypoints = tmp_path / "keypoints"
    for camera in ("cam00", "cam01", "cam02"):  # cam03 has no folder at all
        for frame in range(4):
            source = root / "keypoints" / camera / f"{frame:06d}.json"
            (keypoints / camera).mkdir(parents=True, exist_ok=True)
            (keypoints / camera / source.name).write_text(source.read_text())
    (keypoints / "cam00" / "000001.json").write_text('{"people": [oops')
    (keypoints / "cam01" / "000002.json").unlink()
    (keypoints / "cam02" / "000002.json").unlink()
    out = tmp_path / "run"
    code = run(["--rig", str(root / "rig.yaml"), "--keypoints", str(keypoints), "--out", str(out), "--no-fit"])
    assert code == 0
    problems = [json.loads((out / "body" / f"{t:06d}.json").read_text())["problems"] for t in range(4)]
    assert any("000001.json" in m and "not valid JSON" in m for m in problems[1])
    assert any("nobody seen by 2 or more views" in m for m in problems[2])
    assert all(any("cam03" in m and "does not exist" in m for m in frame) for frame in problems)
    assert len(json.loads((out / "body" / "000000.json").read_text())["people"]) == 2
    assert len(json.loads((out / "body" / "000001.json").read_text())["people"]) == 2  # from cam01 + cam02


def test_openpose_files_naming_no_layout_need_layout(capture_dir, tmp_path):
    """Files of other tools name no layout: --layout is asked for; this project's files name theirs."""
    from capture.cli import UserFacingError

    root, _ = capture_dir
    plain = tmp_path / "plain"
    for path in (root / "keypoints").rglob("*.json"):
        document = json.loads(path.read_text())
        del document["layout"]
        (plain / path.parent.name).mkdir(parents=True, exist_ok=True)
        (plain / path.parent.name / path.name).write_text(json.dumps(document))
    argv = ["--rig", str(root / "rig.yaml"), "--keypoint-format", "openpose", "--no-fit", "--out"]
    with pytest.raises(UserFacingError, match=r"--layout: the openpose keypoint files \(e.g. .*plain/cam00/000000.json\) "
                                              r"do not name their layout"):  # fmt: skip
        run(argv + [str(tmp_path / "run"), "--keypoints", str(plain)])
    assert run(argv + [str(tmp_path / "named")]) == 0  # the same files with the layout key
