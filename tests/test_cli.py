"""The `capture` command line: help, version, rig check/import/export end to end, the demo, and error output."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.rig_file import load_rig, save_rig
from calibration.ring_rig import ring_rig
from capture import __version__
from capture.cli import main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("rig", "demo"):
        assert command in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"capture {__version__}"


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "capture", "rig", "--help"], capture_output=True, text=True, check=True
    )
    assert "import" in result.stdout and "export" in result.stdout and "check" in result.stdout


def test_rig_check_prints_and_writes_png(tmp_path, capsys):
    path = save_rig(ring_rig(5, jitter=0.3), tmp_path / "rig.yaml")
    assert main(["rig", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5 cameras" in out and "baselines (m)" in out and "mean distance to the rig centre: 3." in out
    image = cv2.imread(str(tmp_path / "rig_top.png"))
    assert image is not None and image.shape == (800, 800, 3)
    assert (image < 128).any()  # something was drawn


def test_rig_check_warns_about_a_camera_looking_away(tmp_path, capsys):
    rig = ring_rig(4)
    R = np.diag([-1.0, 1.0, -1.0]) @ rig[0].R  # turn 180 degrees about the camera's y axis: looks away
    turned = rig[0].replace(R=R, t=-R @ rig[0].center)
    rig = type(rig)((turned,) + rig.cameras[1:])
    path = save_rig(rig, tmp_path / "rig.yaml")
    assert main(["rig", "check", str(path), "--png", str(tmp_path / "top.png")]) == 0
    assert "WARNING: the rig centre is outside the image of: cam00" in capsys.readouterr().out


def test_rig_export_and_import_round_trip(tmp_path, capsys):
    rig = ring_rig(3, distortion=(-0.1, 0.02, 0.0, 0.001, 0.0), jitter=0.4)
    path = save_rig(rig, tmp_path / "rig.yaml")
    assert main(["rig", "export", "--format", "easymocap", str(path), "--out", str(tmp_path / "em")]) == 0
    sources = [str(tmp_path / "em" / "intri.yml"), str(tmp_path / "em" / "extri.yml")]
    assert main(["rig", "import", "--format", "easymocap", *sources, "--out", str(tmp_path / "back.yaml")]) == 0
    back = load_rig(tmp_path / "back.yaml")
    for a, b in zip(back, rig):
        assert a.name == b.name
        assert abs(a.K - b.K).max() < 1e-6 and abs(a.R - b.R).max() < 1e-6 and abs(a.t - b.t).max() < 1e-6


def test_bad_rig_gives_a_message_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "rig.yaml"
    path.write_text("version: 1\ncameras:\n  - {name: a, width: 10, height: 10, K: [[1, 0], [0, 1]], R: [[1,0,0],[0,1,0],[0,0,1]], t: [0,0,0]}\n")
    assert main(["rig", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capture rig: error: ") and "camera 'a': field 'K': expected shape (3, 3)" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_demo_reconstructs_a_synthetic_scene_and_scores_it(tmp_path, capsys):
    """A smaller demo than `make demo` (2 people, 3 views of 128 px, coarse grid); same code path end to end."""
    argv = ["demo", "--out", str(tmp_path), "--people", "2", "--views", "3", "--size", "128", "--resolution", "40",
            "--fit-iterations", "5", "--no-fusion"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Chamfer (cm)" in out and "fitted body alone" in out and "report: " in out and "oracle inputs" in out
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    rows = {row["name"]: row for row in evaluation["rows"] if row["regime"] == "oracle inputs"}
    assert rows["meshes"]["person_frames"] == 6
    assert all(message.startswith("from images: ") for message in evaluation["unmatched"])  # oracle: all matched
    # from the images alone: a run of its own (BlazePose may miss people in 128 px views: then a note says so)
    assert (tmp_path / "capture" / "rig_from_images.yaml").is_file() and (tmp_path / "run_images").is_dir()
    assert any(row["regime"] == "from images" for row in evaluation["rows"]) or any(
        "from images: no reconstruction" in message for message in evaluation["unmatched"])
    assert 0.0 < rows["meshes"]["chamfer_cm"] < 5.0 and 0.0 < rows["meshes"]["p2s_cm"] < 5.0
    assert Path(evaluation["report"]).is_file() and len(list((tmp_path / "run" / "scene").glob("*.ply"))) == 3
    assert main(argv) == 0  # a rerun resumes: nothing is redone
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["stages"]["implicit"]["status"] == "skipped" and record["stages"]["body"]["status"] == "skipped"


@pytest.mark.parametrize("command", ["eval", "reconstruct"])
def test_neighbour_margin_takes_metres_or_off_and_defaults_to_the_library(command, tmp_path, capsys):
    from capture.cli import build_parser
    from capture.commands import neighbour_margin_setting

    parser = build_parser()
    required = ["--bench", str(tmp_path), "--out", str(tmp_path)] if command == "eval" else ["--rig", str(tmp_path)]
    assert neighbour_margin_setting(parser.parse_args([command, *required])) == {}
    assert neighbour_margin_setting(parser.parse_args([command, *required, "--neighbour-margin", "0.05"])) == {
        "neighbour_margin_m": 0.05
    }
    assert neighbour_margin_setting(parser.parse_args([command, *required, "--neighbour-margin", "off"])) == {
        "neighbour_margin_m": None
    }
    for bad in ("-0.01", "near", "nan"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, *required, "--neighbour-margin", bad])
        assert "--neighbour-margin: expected metres >= 0 or 'off'" in capsys.readouterr().err


def _parsers(parser: argparse.ArgumentParser, name: str = "capture"):
    """(name, parser) of `parser` and every (nested) subcommand."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child_name, child in action.choices.items():
                yield from _parsers(child, f"{name} {child_name}")


def test_every_option_with_a_default_shows_it_in_help():
    from capture.cli import build_parser

    missing = []
    for name, parser in _parsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
            if not action.option_strings or flag or action.default in (None, argparse.SUPPRESS):
                continue
            if "(default" not in formatter._get_help_string(action) and "default:" not in formatter._get_help_string(action):
                missing.append(f"{name} {action.option_strings[-1]}")
    assert missing == []
    parser = dict(_parsers(build_parser()))["capture synth"]  # what `capture synth --help` prints
    assert "(default: natural)" in " ".join(parser.format_help().split())
