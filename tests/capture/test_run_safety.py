"""Run folders are safe to reuse (the table in docs/pipeline.md, "Run folder safety"): another capture's input, a
folder another process holds, an unusable --out and Ctrl-C each end with exit code 2 (or 130) and one line naming
the file or field, before any work and with the existing outputs untouched; the same capture still resumes."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from calibration.rig_file import load_rig, save_rig
from capture.cli import main
from capture.pipeline import ReconstructConfig, reconstruct
from capture.run_record import RunRecord
from capture.run_lock import LOCK_NAME, run_lock
from pipeline_helpers import write_ground_truth_bodies

RESOLUTION = 24
FLAGS = ["--method", "visual-hull", "--resolution", str(RESOLUTION), "--no-fusion"]


@pytest.fixture(scope="module")
def finished_run(tiny_capture, tmp_path_factory) -> Path:
    """A finished visual-hull run of the tiny capture (made once; tests work on copies)."""
    run = tmp_path_factory.mktemp("finished") / "run"
    write_ground_truth_bodies(tiny_capture, run)
    reconstruct(ReconstructConfig(rig=tiny_capture / "rig.yaml", out=run, resolution=RESOLUTION, method="visual-hull",
                                  fusion=False))  # fmt: skip
    return run


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`: relative path -> bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def reconstruct_cli(rig: Path, run: Path, *extra: str) -> list[str]:
    return ["reconstruct", "--rig", str(rig), "--out", str(run), *FLAGS, *extra]


def one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"capture {command}: error: "), err
    return err


# --- another capture into an existing run folder -----------------------------------------------------------------


def move_first_camera(capture: Path) -> None:
    rig = load_rig(capture / "rig.yaml")
    moved = rig[0].replace(t=rig[0].t + 0.01)
    save_rig(type(rig)((moved,) + rig.cameras[1:], rig.layout, rig.source), capture / "rig.yaml")


def repaint_an_image(capture: Path) -> None:
    path = capture / "images" / "cam01" / "000001.png"
    image = cv2.imread(str(path))
    image[:8, :8] = 255 - image[:8, :8]
    cv2.imwrite(str(path), image)


def touch_an_image(capture: Path) -> None:
    path = capture / "images" / "cam02" / "000000.png"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))


def remove_a_mask(capture: Path) -> None:
    (capture / "masks" / "cam00" / "000000.png").unlink()


OTHER_INPUT = {
    "rig cameras moved": (move_first_camera, r"the rig's cameras differ \(the run was made from \S+/rig.yaml, now "
                                             r"\S+/capture/rig.yaml\)"),
    "an image repainted": (repaint_an_image, r"1 file\(s\) changed since \(size or modification time\) "
                                             r"\(images/cam01/000001.png\)"),
    "an image touched": (touch_an_image, r"1 file\(s\) changed since .*\(images/cam02/000000.png\)"),
    "a mask removed": (remove_a_mask, r"1 file\(s\) gone \(masks/cam00/000000.png\)"),
}  # fmt: skip


@pytest.mark.parametrize("change", sorted(OTHER_INPUT))
def test_a_run_folder_of_other_input_is_refused_naming_what_differs(private_capture, run_copy, capsys, change):
    mutate, pattern = OTHER_INPUT[change]
    mutate(private_capture.parent)
    before = snapshot(run_copy)
    assert main(reconstruct_cli(private_capture, run_copy)) == 2
    err = one_line_error(capsys, "reconstruct")
    assert "this run folder was made from other input: " in err
    assert re.search(pattern, err), err
    assert "choose another --out for this capture, or pass --force" in err
    assert snapshot(run_copy) == before  # run.json, meshes and report untouched; no lock left


def test_the_same_capture_resumes_and_added_files_may_join(private_capture, run_copy, capsys):
    """A copy of the capture (same files, sizes and times) resumes with every stage skipped; a new image (a frame
    recorded since, or a missing one restored) is recorded and does not refuse the run."""
    meshes = {name: data for name, data in snapshot(run_copy).items() if name.endswith(".ply")}
    new_image = private_capture.parent / "images" / "cam00" / "000002.png"
    shutil.copy(private_capture.parent / "images" / "cam00" / "000001.png", new_image)
    assert main(reconstruct_cli(private_capture, run_copy)) == 0
    record = json.loads((run_copy / "run.json").read_text())
    assert record["status"] == "finished" and record["stages"]["implicit"]["status"] == "skipped"
    assert "images/cam00/000002.png" in record["inputs"]["files"]
    assert {name: data for name, data in snapshot(run_copy).items() if name.endswith(".ply")} == meshes
    assert not (run_copy / LOCK_NAME).exists()


def test_a_run_from_before_fingerprints_resumes_and_gets_one(private_capture, run_copy):
    record = json.loads((run_copy / "run.json").read_text())
    del record["inputs"]
    (run_copy / "run.json").write_text(json.dumps(record))
    assert main(reconstruct_cli(private_capture, run_copy)) == 0
    assert "images/cam01/000001.png" in json.loads((run_copy / "run.json").read_text())["inputs"]["files"]


def test_force_accepts_other_input_and_records_it(private_capture, run_copy):
    from capture.run_inputs import input_fingerprint

    repaint_an_image(private_capture.parent)
    inputs = input_fingerprint(load_rig(private_capture))
    previous = json.loads((run_copy / "run.json").read_text())
    record = RunRecord(run_copy, previous["config"], previous["stage_configs"], previous["settings"],
                       previous["versions"], inputs, force=True)  # fmt: skip
    assert json.loads((run_copy / "run.json").read_text())["inputs"] == record.document["inputs"] == inputs


# --- one writer per run folder -----------------------------------------------------------------------------------


def test_a_run_folder_held_by_another_run_is_refused_naming_it(tiny_capture, run_copy, capsys):
    before = snapshot(run_copy)
    with run_lock(run_copy, "capture reconstruct"):
        held = snapshot(run_copy)
        assert main(reconstruct_cli(tiny_capture / "rig.yaml", run_copy)) == 2
        assert snapshot(run_copy) == held  # the holder's lock file too
    err = one_line_error(capsys, "reconstruct")
    assert re.search(rf"capture reconstruct \(pid {os.getpid()}, host \S+, started \S+\) is writing "
                                   r"into this folder \(.*run.lock\); wait for it to finish", err), err  # fmt: skip
    assert snapshot(run_copy) == before  # released: run.lock removed


def test_a_stale_lock_of_a_dead_run_is_taken_over_with_a_message(tiny_capture, run_copy, caplog):
    stale = {"command": "capture reconstruct", "pid": 4_194_000, "host": "studio", "started": "2026-01-01T00:00:00+00:00"}
    (run_copy / LOCK_NAME).write_text(json.dumps(stale))  # left by a killed run: nobody holds it
    with caplog.at_level("WARNING", logger="capture.run_lock"):
        assert main(reconstruct_cli(tiny_capture / "rig.yaml", run_copy)) == 0
    assert "taking over the lock left by capture reconstruct (pid 4194000, host studio, started 2026-01-01" in caplog.text
    assert json.loads((run_copy / "run.json").read_text())["status"] == "finished"
    assert not (run_copy / LOCK_NAME).exists()


# --- --out that cannot be written ----------------------------------------------------------------------------------


def _bad_outputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me")
    return {
        "an existing file": (a_file, r"expected a folder to write into, but it is a file"),
        "a folder inside a file": (a_file / "run", rf"expected a folder to write into, but {a_file} is a file"),
        "an unwritable place": (Path("/sys/multicap_run"), r"cannot write into /sys \((Operation not permitted|Permission denied)\)"),
    }


COMMANDS = {
    "reconstruct": lambda out, tmp: ["reconstruct", "--rig", str(tmp / "rig.yaml"), "--out", str(out), *FLAGS],
    "train": lambda out, tmp: ["train", "--capsule-scene", "--config", "tiny", "--out", str(out)],
    "eval": lambda out, tmp: ["eval", "--bench", str(tmp), "--out", str(out)],
    "fuse": lambda out, tmp: ["fuse", "--run", str(out)],
}


@pytest.mark.parametrize("case", ["an existing file", "a folder inside a file", "an unwritable place"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unusable_output_folder_is_named_before_any_work(tmp_path, capsys, command, case):
    out, pattern = _bad_outputs(tmp_path)[case]
    before = snapshot(tmp_path)
    assert main(COMMANDS[command](out, tmp_path)) == 2
    err = one_line_error(capsys, command)
    option = "--run" if command == "fuse" else "--out"
    assert f"{option} {out}: " in err and re.search(pattern, err), err
    assert snapshot(tmp_path) == before  # nothing written, the file kept


def test_export_weights_to_a_folder_is_named_before_reading_the_checkpoint(tmp_path, capsys):
    assert main(["export-weights", str(tmp_path / "missing.pt"), "--out", str(tmp_path)]) == 2
    assert f"--out {tmp_path}: expected a file to write, but it is a folder" in one_line_error(capsys, "export-weights")


# --- Ctrl-C and no command -----------------------------------------------------------------------------------------


def test_ctrl_c_records_interrupted_exits_130_in_one_line_and_the_rerun_finishes(tiny_capture, run_copy, capsys,
                                                                               monkeypatch):  # fmt: skip
    import capture.pipeline

    def pressed_ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    meshes = {name: data for name, data in snapshot(run_copy).items() if name.endswith(".ply")}
    monkeypatch.setattr(capture.pipeline, "stage_scene", pressed_ctrl_c)
    assert main(reconstruct_cli(tiny_capture / "rig.yaml", run_copy)) == 130
    err = capsys.readouterr().err.strip()
    assert err == (f"capture reconstruct: interrupted; finished work is kept in {run_copy} (run.json says "
                   "interrupted); rerun the same command to resume")  # fmt: skip
    record = json.loads((run_copy / "run.json").read_text())
    assert record["status"] == "interrupted" and record["finished"] is not None
    assert record["stages"]["scene"]["status"] == "interrupted" and record["stages"]["implicit"]["status"] == "skipped"
    assert not (run_copy / LOCK_NAME).exists()
    monkeypatch.undo()
    assert main(reconstruct_cli(tiny_capture / "rig.yaml", run_copy)) == 0
    assert json.loads((run_copy / "run.json").read_text())["status"] == "finished"
    assert {name: data for name, data in snapshot(run_copy).items() if name.endswith(".ply")} == meshes


@pytest.mark.parametrize("command, function, argv", [
    ("train", "run_train", ["--capsule-scene", "--out", "OUT"]),
    ("fuse", "run_fuse", ["--run", "OUT"]),
    ("eval", "run_eval", ["--bench", "OUT", "--out", "OUT"]),
    ("synth", "run_synth", ["--out", "OUT"]),
])  # fmt: skip
def test_ctrl_c_in_any_command_exits_130_with_one_line(tmp_path, capsys, monkeypatch, command, function, argv):
    import importlib

    def pressed_ctrl_c(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(f"capture.commands.{command}"), function, pressed_ctrl_c)
    assert main([command, *[str(tmp_path) if a == "OUT" else a for a in argv]]) == 130
    assert capsys.readouterr().err == f"capture {command}: interrupted\n"


def test_ctrl_c_during_training_says_how_to_resume_and_releases_the_folder(tmp_path, capsys, monkeypatch):
    import implicit.training

    def pressed_ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(implicit.training, "train", pressed_ctrl_c)
    assert main(["train", "--capsule-scene", "--config", "tiny", "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err == (f"capture train: interrupted; the checkpoints written so far are kept in "
                                       f"{tmp_path / 'out'}; continue with the same command and --resume\n")  # fmt: skip
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_no_command_prints_the_help_and_fails(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: capture") and "reconstruct" in err


@pytest.mark.slow
def test_ctrl_c_in_a_process_pool_run_stops_it_in_one_line(tiny_capture, tmp_path):
    """A real SIGINT to the whole process group (as a terminal sends it) while 2 pool workers reconstruct."""
    import signal

    run = tmp_path / "run"
    write_ground_truth_bodies(tiny_capture, run)
    argv = [sys.executable, "-m", "capture", *reconstruct_cli(tiny_capture / "rig.yaml", run, "--workers", "2")]
    argv[argv.index("--resolution") + 1] = "96"  # slow enough to be interrupted mid-stage
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        record = json.loads((run / "run.json").read_text()) if (run / "run.json").is_file() else {}
        if "segment" in record.get("stages", {}):
            break
        time.sleep(0.05)
    time.sleep(3.0)  # workers spawned and busy
    assert process.poll() is None, "the run ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith(f"capture reconstruct: interrupted; finished work is kept in {run}")
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "interrupted" and record["stages"]["implicit"]["status"] == "interrupted"
    assert not (run / LOCK_NAME).exists() and not list(run.rglob(".*.tmp"))
