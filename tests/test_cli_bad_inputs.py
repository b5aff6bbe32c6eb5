"""Bad input to `capture synth / keypoints / body / segment / view / reconstruct` through the command line: the exit
code, one error line naming the file or field (no traceback), nothing half-written, existing outputs untouched.

One small synthetic capture (1 person, 3 views of 64 x 64, 3 frames) is written by `capture synth` itself and its
body stage by `capture body`, once for the module; a test that damages data works on a copy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

from capture.cli import main

SYNTH = ["--people", "1", "--views", "3", "--frames", "3", "--size", "64", "--voxel", "0.04", "--seed", "1"]


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run `capture ARGV` in this process -> (exit code, stdout, stderr); argparse's exits count as exit codes."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under `folder` ({} when it does not exist)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    """A fresh `capture synth` output; returns its rig.yaml."""
    root = tmp_path_factory.mktemp("cli_bad_inputs")
    assert main(["synth", "--out", str(root / "capture"), *SYNTH]) == 0
    return root / "capture" / "rig.yaml"


@pytest.fixture(scope="module")
def body_run(capture) -> Path:
    """`capture body --no-fit` on the fresh synth output: its keypoint files name their layout, no --layout needed."""
    run = capture.parent.parent / "run"
    assert main(["body", "--rig", str(capture), "--out", str(run), "--no-fit"]) == 0
    return run


@pytest.fixture
def damaged(capture, tmp_path) -> Path:
    """A copy of the capture a test may damage; returns its rig.yaml."""
    shutil.copytree(capture.parent, tmp_path / "capture")
    return tmp_path / "capture" / "rig.yaml"


def test_the_body_stage_reads_the_layout_of_a_fresh_synth_output(body_run):
    frames = sorted(body_run.glob("body/*.json"))
    assert [p.name for p in frames] == ["000000.json", "000001.json", "000002.json"]
    assert json.loads(frames[0].read_text())["people"][0]["keypoints3d"]["layout"] == "body25"


@dataclass
class Case:
    """One bad command line: `argv(capture rig.yaml, body run, tmp_path)`, the error line's pattern, and the
    folder (relative to tmp_path, or 'run' / 'capture') that must be as it was."""

    id: str
    argv: Callable[[Path, Path, Path], list]
    error: str
    untouched: str = "capture"


CASES = [
    Case("synth into an existing capture", lambda rig, run, tmp: ["synth", "--out", rig.parent, *SYNTH],
         r"capture synth: error: --out .*/capture: the folder is not empty; pass --force to replace"),
    Case("synth --size 100000", lambda rig, run, tmp: ["synth", "--out", tmp / "new", "--size", "100000"],
         r"capture synth: error: --size: expected an image side of 16-4096 pixels, got 100000", "new"),
    Case("synth --out a file", lambda rig, run, tmp: ["synth", "--out", rig, *SYNTH],
         r"capture synth: error: --out .*rig.yaml: expected a folder to write into, but it is a file"),
    Case("view --size 100000x100000", lambda rig, run, tmp: ["view", run, "--size", "100000x100000"],
         r"capture view: error: --size: expected width and height of 16-8192 pixels, got '100000x100000'", "run"),
    Case("body --frames 0:2:0", lambda rig, run, tmp: ["body", "--rig", rig, "--out", run, "--frames", "0:2:0"],
         r"capture body: error: argument --frames: expected STEP >= 1, got '0:2:0'", "run"),
    Case("body --frames -5:2", lambda rig, run, tmp: ["body", "--rig", rig, "--out", run, "--frames", "-5:2"],
         r"capture body: error: argument --frames: expected START >= 0 \(frames are numbered from 0\), got '-5:2'",
         "run"),
    Case("body --frames=-5:2", lambda rig, run, tmp: ["body", "--rig", rig, "--out", run, "--frames=-5:2"],
         r"capture body: error: argument --frames: expected START >= 0", "run"),
    Case("body --frames 2:1", lambda rig, run, tmp: ["body", "--rig", rig, "--out", run, "--frames", "2:1"],
         r"capture body: error: argument --frames: expected STOP > START \(STOP is excluded\), got '2:1'", "run"),
    Case("body --frames 0:10", lambda rig, run, tmp: ["body", "--rig", rig, "--out", run, "--frames", "0:10", "--force"],
         r"capture body: error: --frames 0:10: frame\(s\) 3..9 outside the frames of the keypoint files "
         r"\(.*capture/keypoints\): 0..2", "run"),
    Case("keypoints --frames 5:", lambda rig, run, tmp: ["keypoints", "--rig", rig, "--out", tmp / "kp", "--frames", "5:"],
         r"capture keypoints: error: --frames 5:: frame\(s\) 5 outside the frames of the capture's images "
         r"\(.*rig.yaml\): 0..2", "kp"),
    Case("segment --frames 1:7:2", lambda rig, run, tmp: ["segment", "--rig", rig, "--run", run, "--frames", "1:7:2"],
         r"capture segment: error: --frames 1:7:2: frame\(s\) 3..5 outside the frames of the body stage "
         r"\(.*run/body\): 0..2", "run"),
    Case("reconstruct --frames 0:2:0", lambda rig, run, tmp: ["reconstruct", "--rig", rig, "--out", tmp / "rec",
                                                              "--frames", "0:2:0"],
         r"capture reconstruct: error: --frames: expected STEP >= 1, got '0:2:0'"),
    Case("reconstruct --frames 0:10", lambda rig, run, tmp: ["reconstruct", "--rig", rig, "--out", tmp / "rec",
                                                             "--frames", "0:10", "--method", "visual-hull"],
         r"capture reconstruct: error: stage body failed: --frames 0:10: frame\(s\) 3..9 outside the frames of the "
         r"keypoint files \(.*capture/keypoints\): 0..2; finished work is kept"),
    Case("reconstruct --frames -5:2", lambda rig, run, tmp: ["reconstruct", "--rig", rig, "--out", tmp / "rec",
                                                             "--frames", "-5:2"],
         r"capture reconstruct: error: --frames: expected START >= 0"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_command_lines_fail_in_one_line_and_touch_nothing(case, capture, body_run, tmp_path, capsys):
    folder = {"capture": capture.parent, "run": body_run}.get(case.untouched, tmp_path / case.untouched)
    before = snapshot(folder)
    code, _, err = cli(case.argv(capture, body_run, tmp_path), capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if re.match(r"capture [a-z-]+: error:", line)]
    assert len(errors) == 1 and re.search(case.error, errors[0]), err
    assert "Traceback" not in err
    assert snapshot(folder) == before
    assert not list(folder.parent.glob(f".{folder.name}.partial-*"))


def test_synth_force_replaces_only_its_own_files(damaged, tmp_path, capsys):
    out = damaged.parent
    (out / "notes.txt").write_text("mine")
    (out / "run").mkdir()
    (out / "run" / "run.json").write_text("{}")
    code, _, err = cli(["synth", "--out", out, *SYNTH[:2], "--views", "2", "--frames", "1", "--size", "48",
                        "--voxel", "0.04", "--force"], capsys)  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in (out / "images").iterdir()) == ["cam00", "cam01"]  # cam02 of before is gone
    assert [p.name for p in (out / "images" / "cam00").iterdir()] == ["000000.png"]  # frames 1, 2 of before too
    assert cv2.imread(str(out / "images" / "cam00" / "000000.png")).shape == (48, 48, 3)
    assert (out / "notes.txt").read_text() == "mine" and (out / "run" / "run.json").read_text() == "{}"
    assert not list(tmp_path.glob(".capture.partial-*"))


@pytest.mark.parametrize("existing", [False, True], ids=["new folder", "--force over a capture"])
def test_synth_out_of_memory_leaves_nothing_half_written(existing, damaged, tmp_path, capsys, monkeypatch):
    """MemoryError in the second frame's render (as --size 100000 did before the size check)."""
    import synth.capture_writer

    calls = []

    def render_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError
        return real_render(*args, **kwargs)

    real_render = synth.capture_writer.render
    monkeypatch.setattr(synth.capture_writer, "render", render_then_fail)
    out = damaged.parent if existing else tmp_path / "new"
    before = snapshot(out)
    code, _, err = cli(["synth", "--out", out, *SYNTH, *(["--force"] if existing else [])], capsys)
    assert code == 2 and len(calls) == 2
    assert re.search(r"capture synth: error: --out .*: out of memory while synthesising; nothing was written", err)
    assert snapshot(out) == before and out.exists() == existing
    assert not list(out.parent.glob(f".{out.name}.partial-*"))


def _jpeg_truncated(path: Path) -> Path:
    """Replace the PNG at `path` by a JPEG of it cut to 2/3 of its bytes; returns the JPEG's path."""
    jpeg = path.with_suffix(".jpg")
    ok, data = cv2.imencode(".jpg", cv2.imread(str(path)))
    assert ok
    jpeg.write_bytes(data.tobytes()[: 2 * len(data) // 3])
    path.unlink()
    return jpeg


def test_a_truncated_jpeg_is_named_and_the_frames_before_it_are_kept(damaged, tmp_path, capsys):
    pytest.importorskip("mediapipe")
    bad = _jpeg_truncated(damaged.parent / "images" / "cam00" / "000001.png")
    assert cv2.imread(str(bad)) is not None  # OpenCV alone decodes it, with grey rows
    run = tmp_path / "run"
    code, _, err = cli(["keypoints", "--rig", damaged, "--out", run, "--cameras", "cam00"], capsys)
    assert code == 2
    assert f"capture keypoints: error: {bad}: the JPEG file is truncated (it does not end with the end-of-image " \
           "marker FFD9)" in err and "Traceback" not in err
    assert [p.name for p in (run / "keypoints" / "cam00").iterdir()] == ["000000.json"]  # frame 0 finished, kept


def test_a_view_missing_a_frame_is_named_and_the_others_are_detected(damaged, tmp_path, capsys, caplog):
    pytest.importorskip("mediapipe")
    (damaged.parent / "images" / "cam01" / "000002.png").unlink()
    run = tmp_path / "run"
    with caplog.at_level(logging.WARNING):
        code, out, err = cli(["keypoints", "--rig", damaged, "--out", run], capsys)
    assert code == 0, err
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(re.match(r"camera cam01: no image for 1 of the 3 selected frames \(2\) in .*images/cam01", w)
               for w in warnings), warnings  # fmt: skip
    assert sorted(p.name for p in (run / "keypoints" / "cam01").iterdir()) == ["000000.json", "000001.json"]
    for camera in ("cam00", "cam02"):
        assert len(list((run / "keypoints" / camera).iterdir())) == 3
    assert "wrote 8 keypoint files" in out and "views lacking frames: cam01 (1)" in out


def test_frame_ranges_parse_once_for_every_command():
    from capture.commands import parse_frame_range
    from capture.pipeline import PipelineError, parse_frames

    assert parse_frame_range("2:10:2").frames() == range(2, 10, 2) and parse_frame_range("5:").stop is None
    assert parse_frame_range(":4").frames() == range(0, 4)
    for text, message in [("0:2:0", "STEP >= 1"), ("-5:2", "START >= 0"), ("3:3", "STOP > START"), ("a:b", "integers")]:
        with pytest.raises(ValueError, match=message):
            parse_frame_range(text)
        with pytest.raises(PipelineError, match=f"--frames: expected {message.split()[0]}" if message != "integers"
                           else "--frames: expected START:STOP"):  # fmt: skip
            parse_frames(text)
    assert np.array_equal(list(parse_frames("1:7:3").frames()), [1, 4])
