"""Training loop: a tiny model overfits one sample; checkpoints resume at the same step with the same weights."""

from __future__ import annotations

import argparse
import dataclasses

import pytest
import torch

from implicit.config import tiny_config
from implicit.dataset import TrainingDataset
from implicit.testing import capsule_scene
from implicit.training import CHECKPOINT_NAME, CheckpointError, load_model, read_checkpoint, train


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def samples():
    return capsule_scene(people=2, views=3, size=64, sections=16)


def coarse_only_steps(steps: int, **train_changes):
    config = tiny_config()
    return dataclasses.replace(config, train=dataclasses.replace(config.train, coarse_steps=steps, **train_changes))


def test_tiny_model_overfits_one_sample(samples, tmp_path):
    config = coarse_only_steps(100, log_every=10, checkpoint_every=1000)
    dataset = TrainingDataset([lambda: samples[0]], config, augment=False)
    result = train(config, dataset, tmp_path, steps=100)
    first, last = result.history[0], result.history[-1]
    assert result.step == 100 and last["stage"] == "coarse"
    assert last["occupancy"] < 0.5 * first["occupancy"]
    assert last["iou"] > first["iou"] + 0.2
    assert result.checkpoint == tmp_path / CHECKPOINT_NAME and (tmp_path / "history.json").is_file()


def test_resume_continues_at_the_same_step_with_the_same_weights(samples, tmp_path):
    config = dataclasses.replace(tiny_config(), train=dataclasses.replace(tiny_config().train, coarse_steps=6,
                                 fine_steps=4, log_every=2, checkpoint_every=3))  # fmt: skip
    dataset = TrainingDataset([lambda s=s: s for s in samples], config, seed=3)
    straight = train(config, dataset, tmp_path / "a")
    assert straight.step == 10 and straight.history[-1]["stage"] == "fine"
    train(config, dataset, tmp_path / "b", steps=5)  # interrupted in the coarse stage (checkpoint at 5 = the end)
    assert read_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)["step"] == 5
    resumed = train(config, dataset, tmp_path / "b", resume=True)
    assert resumed.step == 10 and resumed.history[-1]["step"] == 10
    assert {h["step"] for h in straight.history} <= {h["step"] for h in resumed.history}  # + the interruption's
    a, b = (load_model(tmp_path / d / CHECKPOINT_NAME).state_dict() for d in ("a", "b"))
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name
    other = dataclasses.replace(config, name="other")
    with pytest.raises(CheckpointError, match="config"):
        train(other, dataset, tmp_path / "b", resume=True)


def test_capture_train_command(tmp_path, capsys):
    from capture.commands import train as command

    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    args = parser.parse_args(["train", "--config", "tiny", "--capsule-scene", "--out", str(tmp_path), "--steps", "3"])
    assert args.func(args) == 0
    assert "to step 3" in capsys.readouterr().out
    assert read_checkpoint(tmp_path / CHECKPOINT_NAME)["config"]["name"] == "tiny"

    weights = tmp_path / "weights" / "tiny.pt"
    args = parser.parse_args(["export-weights", str(tmp_path / CHECKPOINT_NAME), "--out", str(weights)])
    assert args.func(args) == 0 and "wrote" in capsys.readouterr().out
    exported = read_checkpoint(weights, for_training=False)
    assert "optimizer" not in exported and exported["step"] == 3 and exported["config"]["name"] == "tiny"
    assert weights.stat().st_size < (tmp_path / CHECKPOINT_NAME).stat().st_size
    trained, shipped = load_model(tmp_path / CHECKPOINT_NAME).state_dict(), load_model(weights).state_dict()
    assert all(torch.equal(trained[name], shipped[name]) for name in trained)
    with pytest.raises(CheckpointError, match="exported weights cannot be resumed"):
        read_checkpoint(weights)
