"""Bad rig inputs through the `capture` command line, table-driven: each case gives the exit code, a one-line
message naming the file (and field), and leaves existing outputs untouched."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

from calibration.rig_file import rig_to_dict, save_rig
from calibration.ring_rig import ring_rig
from capture.cli import main

CALISCOPE = """[cameras.0]
size = [640, 480]
matrix = [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
translation = [0.0, 0.0, 0.0]
"""


def _import(folder: Path, format: str) -> list[str]:
    return ["rig", "import", "--format", format, str(folder / "camera_array.toml"), "--out", str(folder / "rig.yaml")]


def _rig_data() -> dict:
    return rig_to_dict(ring_rig(3, radius=1.5, image_size=(640, 480)))


def _existing_rig(folder: Path) -> list[str]:
    """An existing rig.yaml with a capture: section; import into it without --force."""
    save_rig(ring_rig(3, radius=1.5, image_size=(640, 480)), folder / "rig.yaml")
    (folder / "camera_array.toml").write_text(CALISCOPE)
    return _import(folder, "caliscope")


def _pickled_rig(folder: Path) -> list[str]:
    (folder / "rig.yaml").write_bytes(pickle.dumps(_rig_data()))
    return ["rig", "check", str(folder / "rig.yaml"), "--png", str(folder / "top.png")]


def _caliscope_as_anipose(folder: Path) -> list[str]:
    (folder / "camera_array.toml").write_text(CALISCOPE)
    return _import(folder, "anipose")


def _caliscope_missing_translation(folder: Path) -> list[str]:
    (folder / "camera_array.toml").write_text(CALISCOPE.replace("translation = [0.0, 0.0, 0.0]\n", ""))
    return _import(folder, "caliscope")


def _millimetres_labelled_metres(folder: Path) -> list[str]:
    data = _rig_data()
    for camera in data["cameras"]:
        camera["t"] = [1000 * value for value in camera["t"]]
    (folder / "rig.yaml").write_text(yaml.safe_dump(data))
    return ["rig", "check", str(folder / "rig.yaml"), "--png", str(folder / "top.png")]


CASES = [
    # (setup, exit code, expected in the one-line message, file it names)
    (_existing_rig, 2, "the output file exists; use --force", "rig.yaml"),
    (_pickled_rig, 2, "got a binary file (it starts like a Python pickle)", "rig.yaml"),
    (_caliscope_as_anipose, 2, "field 'cameras': expected one table per camera", "camera_array.toml"),
    (_caliscope_missing_translation, 2, "camera 'cam_0': field 'translation': missing required field", "camera_array.toml"),
    (_millimetres_labelled_metres, 0, "if the file's lengths are in mm, set units: mm", "rig.yaml"),
]  # fmt: skip


@pytest.mark.parametrize(("setup", "code", "message", "named"), CASES, ids=[case[0].__name__ for case in CASES])
def test_bad_rig_input(tmp_path, capsys, caplog, setup, code, message, named):
    argv = setup(tmp_path)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert main(argv) == code
    captured = capsys.readouterr()
    if code:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and named in lines[0] and "Traceback" not in captured.err
    else:
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert any(message in w and named in w and "2598 m apart" in w for w in warnings), warnings
    for name, content in before.items():
        assert (tmp_path / name).read_bytes() == content, f"{name} was changed"


def test_import_force_keeps_the_capture_section(tmp_path, capsys):
    argv = _existing_rig(tmp_path)
    data = yaml.safe_load((tmp_path / "rig.yaml").read_text())
    data["capture"] = {"images": ".", "fps": 25.0}
    (tmp_path / "rig.yaml").write_text(yaml.safe_dump(data))
    assert main(argv + ["--force"]) == 0
    assert "kept the capture: section" in capsys.readouterr().out
    written = yaml.safe_load((tmp_path / "rig.yaml").read_text())
    assert [c["name"] for c in written["cameras"]] == ["cam_0"]
    assert written["capture"]["fps"] == 25.0 and written["capture"]["images"] == "."
