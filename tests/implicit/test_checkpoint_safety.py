"""Checkpoints are read without running code: a crafted pickle is refused (and its code never runs) by the library,
`capture export-weights` and `capture reconstruct --model`, while the shipped weights, fresh checkpoints and
checkpoints of the older layout (numpy float64 learning rates) still load and resume."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from calibration.rig_file import save_rig
from calibration.ring_rig import ring_rig
from capture.cli import main
from implicit.config import Config, tiny_config
from implicit.dataset import TrainingDataset
from synth.capsules import capsule_scene
from implicit.training import CHECKPOINT_NAME, SHIPPED_WEIGHTS_DIR, CheckpointError, read_checkpoint, train


class CreatesMarker:
    """Unpickling calls os.system('touch <marker>'): what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def write_zip(path: Path, payload) -> None:
    torch.save({"model": {}, "step": 1, "config": payload}, path)


def write_raw_pickle(path: Path, payload) -> None:
    path.write_bytes(pickle.dumps({"model": payload, "step": 1, "config": {}}, protocol=2))


@pytest.fixture(params=[write_zip, write_raw_pickle], ids=["torch-zip", "raw-pickle"])
def malicious(request, tmp_path) -> tuple[Path, Path]:
    """(a crafted checkpoint, the marker file its unpickling would create)."""
    marker = tmp_path / "code_ran"
    path = tmp_path / "crafted.pt"
    request.param(path, CreatesMarker(marker))
    return path, marker


def one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"capture {command}: error: "), err
    return err


def test_the_payload_does_run_when_unpickled_unsafely(malicious):
    """The fixture is a real attack: an ordinary pickle load runs its command (so the refusals below mean something)."""
    path, marker = malicious
    with contextlib.suppress(RuntimeError):  # the raw pickle runs while torch reads it as the legacy magic number
        torch.load(path, weights_only=False)
    assert marker.is_file()


def test_read_checkpoint_refuses_a_crafted_pickle_without_running_it(malicious):
    path, marker = malicious
    with pytest.raises(CheckpointError, match=rf"checkpoint {path}: refused: it holds .*could run code") as caught:
        read_checkpoint(path, for_training=False)
    assert "\n" not in str(caught.value)
    assert not marker.exists()


def test_export_weights_refuses_a_crafted_checkpoint_in_one_line(malicious, tmp_path, capsys):
    path, marker = malicious
    out = tmp_path / "weights.pt"
    assert main(["export-weights", str(path), "--out", str(out)]) == 2
    assert str(path) in one_line_error(capsys, "export-weights")
    assert not marker.exists() and not out.exists()


def test_reconstruct_refuses_a_crafted_model_before_any_work(malicious, tmp_path, capsys):
    path, marker = malicious
    rig = save_rig(ring_rig(3), tmp_path / "rig.yaml")
    run = tmp_path / "run"
    argv = ["reconstruct", "--rig", str(rig), "--out", str(run), "--method", "network", "--model", str(path)]
    assert main(argv) == 2
    err = one_line_error(capsys, "reconstruct")
    assert f"--model {path}: checkpoint {path}: refused" in err
    assert not marker.exists() and not run.exists()


@pytest.mark.parametrize("write, reason", [
    (lambda path: path.write_bytes(b"not a checkpoint"), r"cannot be read \(not tensors and plain values; pickle: "),
    (lambda path: path.write_bytes(pickle.dumps([1, 2, 3], protocol=2)), r"cannot be read \(Invalid magic number"),
    (lambda path: torch.save([1, 2, 3], path), r"expected a dictionary of model, step and config, got list"),
    (lambda path: torch.save({"model": {}}, path), r"missing entries \['config', 'step'\]"),
], ids=["text", "raw-pickle-list", "torch-list", "no-config"])  # fmt: skip
def test_damaged_or_foreign_files_are_named_in_one_line(tmp_path, write, reason):
    path = tmp_path / "other.pt"
    write(path)
    with pytest.raises(CheckpointError, match=rf"checkpoint {path}: {reason}") as caught:
        read_checkpoint(path, for_training=False)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["small", "small-mean_pooling"])
def test_shipped_weights_load_safely(name):
    path = SHIPPED_WEIGHTS_DIR / f"{name}.pt"
    if not path.is_file():
        pytest.skip(f"no shipped {name} weights")
    state = read_checkpoint(path, for_training=False)
    assert Config.from_dict(state["config"]).name == name and state["step"] > 0
    assert state["model"] and all(isinstance(value, torch.Tensor) for value in state["model"].values())


def test_new_checkpoints_hold_plain_values_and_old_ones_with_numpy_rates_still_resume(tmp_path):
    torch.set_num_threads(1)
    config = dataclasses.replace(tiny_config(), train=dataclasses.replace(tiny_config().train, coarse_steps=4,
                                 log_every=2, checkpoint_every=2))  # fmt: skip
    samples = capsule_scene(people=1, views=3, size=64, sections=16)
    dataset = TrainingDataset([lambda: samples[0]], config, seed=0)
    train(config, dataset, tmp_path / "new", steps=2)
    fresh = torch.load(tmp_path / "new" / CHECKPOINT_NAME, weights_only=True)  # torch's own allow-list suffices
    assert type(fresh["optimizer"]["param_groups"][0]["lr"]) is float

    old = tmp_path / "old"
    old.mkdir()
    fresh["optimizer"]["param_groups"][0]["lr"] = np.float64(fresh["optimizer"]["param_groups"][0]["lr"])
    torch.save(fresh, old / CHECKPOINT_NAME)  # the layout written before rates were stored as floats
    with pytest.raises(Exception, match="numpy"):
        torch.load(old / CHECKPOINT_NAME, weights_only=True)  # what the numpy allow-list is for
    resumed = train(config, dataset, old, steps=4, resume=True)
    assert resumed.step == 4 and read_checkpoint(old / CHECKPOINT_NAME)["step"] == 4
