"""Training loop: a tiny model overfits one sample; checkpoints resume at the same step with the same weights."""

from __future__ import annotations

import argparse
import functools
import dataclasses

import pytest
import torch

from implicit.config import tiny_config
from implicit.dataset import TrainingDataset
from synth.capsules import capsule_scene
from multihuman_eval.validation import validate
from implicit.training import (
    CHECKPOINT_NAME,
    CheckpointError,
    learning_rate_at,
    load_model,
    read_checkpoint,
    train,
)


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


def test_validation_scores_held_out_people_and_the_curves_are_drawn(samples, tmp_path):
    config = dataclasses.replace(tiny_config(), train=dataclasses.replace(
        tiny_config().train, coarse_steps=4, fine_steps=2, log_every=2, checkpoint_every=3, validate_every=4))  # fmt: skip
    dataset = TrainingDataset([lambda: samples[0]], config, seed=1)
    held_out = TrainingDataset([lambda: samples[1]], config, seed=2, augment=False)
    result = train(config, dataset, tmp_path, validate=functools.partial(validate, dataset=held_out, resolution=24))
    validated = [entry for entry in result.history if "val_iou" in entry]
    assert [entry["step"] for entry in validated] == [4, 6]  # every validate_every steps and at the end
    assert [entry["stage"] for entry in validated] == ["coarse", "fine"]
    for entry in validated:
        assert 0.0 <= entry["val_iou"] <= 1.0 and 0.0 <= entry["val_iou_coarse"] <= 1.0
        assert entry["val_empty"] == 1 or entry["val_chamfer_cm"] > 0.0
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = read_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert [session["step"] for session in state["sessions"]] == [0]
    assert state["git_commit"] == state["sessions"][0]["git_commit"]


def test_learning_rate_decays_by_cosine_within_each_stage():
    config = tiny_config()
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, coarse_steps=11, fine_steps=5,
                                 learning_rate=1e-3, final_learning_rate_fraction=0.1))  # fmt: skip
    rates = [learning_rate_at(config, step) for step in range(16)]
    assert rates[0] == pytest.approx(1e-3) and rates[10] == pytest.approx(1e-4)
    assert rates[5] == pytest.approx(5.5e-4)  # half-way: the mean of both ends
    assert all(a > b for a, b in zip(rates[:10], rates[1:11]))
    assert rates[11] == pytest.approx(1e-3) and rates[15] == pytest.approx(1e-4)  # the fine stage starts over


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
