"""Training data from a synthetic capture folder (implicit.dataset.capture_samples) and `capture train` with
held-out validation folders, on the session's tiny capture."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from implicit.config import tiny_config
from implicit.dataset import TrainingDataset, capture_samples
from implicit.sampling import occupancy_labels
from multihuman_eval.surface import point_to_surface_distances
from implicit.training import CHECKPOINT_NAME, read_checkpoint
from render import load_mesh


@pytest.fixture(scope="module")
def loaders(tiny_capture):
    return capture_samples(tiny_capture)


def test_one_loader_per_person_and_frame(loaders, tiny_capture):
    meshes = sorted((tiny_capture / "gt" / "meshes").glob("*/person_*.ply"))
    assert len(loaders) == len(meshes) == 4  # 2 people x 2 frames


def test_a_sample_matches_the_capture_ground_truth(loaders, tiny_capture):
    sample = loaders[1]()  # frame 0, person 1
    views, height, width = sample.labels.shape
    assert (views, height, width) == (3, 128, 128) and sample.images.shape == (3, 128, 128, 3)
    assert 0.0 <= sample.images.min() and sample.images.max() <= 1.0 and sample.images.mean() > 0.05
    assert sample.person_id == 1 and sample.person_mask.any()
    truth = load_mesh(tiny_capture / "gt" / "meshes" / "000000" / "person_1.ply")
    assert np.allclose(sample.mesh.vertices, truth.vertices)
    assert len(sample.others) == 1 and not np.allclose(sample.others[0].vertices.mean(0), truth.vertices.mean(0))
    # visible pixels of the person are inside their own silhouette rendered alone
    assert (sample.silhouette | ~sample.person_mask).mean() > 0.995
    # the body (from gt/body_params.json) lies inside the clothed mesh or on it (its voxels are 3 cm here, so
    # fingers and the like are lost)
    points = sample.body.vertices[::10]
    distance = point_to_surface_distances(points, sample.mesh)
    assert np.median(distance) < 0.02 and (occupancy_labels(sample.mesh, points) | (distance < 0.03)).mean() > 0.85


def test_a_training_example_from_the_capture(loaders):
    config = tiny_config()
    example = TrainingDataset(loaders[:1], config, seed=4).example(0)
    assert example.inputs.images.shape == (1, 3, 3, config.inputs.crop_size, config.inputs.crop_size)
    assert example.points.shape == (1, config.sampling.points, 3)
    assert 0.3 < float(example.occupancy.mean()) < 0.6
    assert torch.isfinite(example.normals).all()


def test_capture_train_with_validation_folders(tiny_capture, tmp_path, capsys):
    from capture.commands import train as command

    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    args = parser.parse_args(["train", "--config", "tiny", "--data", str(tiny_capture), "--validation", str(tiny_capture),
                              "--validation-resolution", "24", "--out", str(tmp_path), "--steps", "2", "--threads", "1"])  # fmt: skip
    assert args.func(args) == 0
    assert "validation IoU" in capsys.readouterr().out
    history = read_checkpoint(tmp_path / CHECKPOINT_NAME)["history"]
    assert history[-1]["step"] == 2 and "val_chamfer_cm" in history[-1]
    assert (tmp_path / "curves.png").is_file()


def test_capture_train_names_the_option_of_a_folder_without_captures(tiny_capture, tmp_path):
    from capture.cli import UserFacingError
    from capture.commands import train as command

    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    (tmp_path / "empty").mkdir()
    args = parser.parse_args(["train", "--config", "tiny", "--data", str(tiny_capture), "--validation",
                              str(tmp_path / "empty"), "--out", str(tmp_path / "out"), "--steps", "1"])  # fmt: skip
    with pytest.raises(UserFacingError, match=r"--validation .*empty: no rig.yaml"):
        args.func(args)
    assert not (tmp_path / "out" / CHECKPOINT_NAME).exists()
