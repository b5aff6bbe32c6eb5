"""`capture eval` scores what `capture reconstruct` makes: for the same person-frame (same views, masks, fitted
bodies, network and settings) the evaluation's `ours` method and the pipeline's person-frame task write the same
mesh, byte for byte, and the pipeline records the grid it used beside it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "capture"))  # the pipeline tests' helpers
from pipeline_helpers import write_ground_truth_bodies  # noqa: E402

from calibration.run_layout import RunLayout  # noqa: E402
from capture import person_frame  # noqa: E402
from implicit.reconstruct import DEFAULT_GRID_MARGIN_M, ReconstructionConfig, mesh_record_path  # noqa: E402
from multihuman_eval.benchmark import discover_scenes, load_scene  # noqa: E402
from multihuman_eval.methods import MethodConfig, build_methods  # noqa: E402
from render import load_mesh  # noqa: E402

RESOLUTION = 40
SCENE = ("close", "001")
"""BENCH/close/001: the category and folder `capture eval` sees; the run of `capture reconstruct` lies at
RUNS/close/001, where `capture eval --body-runs RUNS` reads the fitted bodies."""


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """A one-scene benchmark: two people in contact, 3 views of 96 x 96, one frame."""
    from body.anny_body import AnnyBody
    from synth.capture_writer import write_capture
    from synth.scene import make_scene

    root = tmp_path_factory.mktemp("bench")
    write_capture(make_scene(AnnyBody(), "close", 2, num_frames=1, seed=5, num_views=3, image_size=96, voxel_size=0.04),
                  root.joinpath(*SCENE))  # fmt: skip
    return root


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """An untrained tiny network (random weights, seed 0): its occupancy crosses 0.5 in the people's grids."""
    from implicit.config import tiny_config
    from implicit.model import DeepMultiCap
    from implicit.training import save_checkpoint

    torch.manual_seed(0)
    model = DeepMultiCap(tiny_config()).eval()
    path = tmp_path_factory.mktemp("network") / "tiny.pt"
    save_checkpoint(path, model, torch.optim.Adam(model.parameters()), 0, [], 0, [{"step": 0, "git_commit": None}])
    return path


def write_segmentation(capture: Path, run: Path, frame: int) -> None:
    """RUN/masks as the segmentation stage writes them, from the capture's masks: the label maps, and for each
    person the pixels of the others (what `capture eval` treats as unobserved) as their occlusion masks."""
    from segmentation.labels import read_label_map, write_label_map, write_occluded

    layout = RunLayout(run)
    for camera_dir in sorted((capture / "masks").iterdir()):
        labels = read_label_map(camera_dir / f"{frame:06d}.png")
        write_label_map(layout.label_file(camera_dir.name, frame), labels)
        for label in sorted(set(np.unique(labels)) - {0}):
            person = int(label) - 1
            write_occluded(layout.occluded_file(camera_dir.name, frame, person), (labels != 0) & (labels != label))


def test_capture_eval_and_capture_reconstruct_write_the_same_mesh(bench, checkpoint, tmp_path):
    capture = bench.joinpath(*SCENE)
    runs = tmp_path / "runs"
    run = runs.joinpath(*SCENE)
    write_ground_truth_bodies(capture, run)
    write_segmentation(capture, run, 0)
    (scene,) = discover_scenes(bench)
    data = load_scene(scene, body_runs=runs)
    config = ReconstructionConfig(resolution=RESOLUTION)
    ours = build_methods(["ours"], MethodConfig(config, checkpoints={"ours": checkpoint}))["ours"]
    assert data.person_ids == [0, 1]
    for person in data.person_ids:
        task = person_frame.PersonFrameTask(str(capture / "rig.yaml"), str(run), 0, person, "network", RESOLUTION,
                                            str(checkpoint), "cpu", config.neighbour_margin_m)  # fmt: skip
        result = person_frame.reconstruct_person_frame(task)
        assert result.faces > 0
        written = load_mesh(RunLayout(run).mesh_file(0, person))
        evaluated = ours(data, person)
        # the pipeline's file holds float32 vertices; the evaluated mesh, written the same way, is identical
        assert written.vertices.astype(np.float32).tobytes() == evaluated.vertices.astype(np.float32).tobytes()
        assert written.faces.astype(np.int64).tobytes() == evaluated.faces.astype(np.int64).tobytes()
        record = json.loads(mesh_record_path(RunLayout(run).mesh_file(0, person)).read_text())
        assert record["voxel_size_m"] == result.voxel_size_m
        assert record["settings"]["margin_m"] == DEFAULT_GRID_MARGIN_M
        assert record["settings"]["neighbour_margin_m"] == config.neighbour_margin_m


def test_a_different_grid_margin_changes_the_mesh(bench, checkpoint):
    """The comparison above can fail: the evaluation with another margin meshes another grid."""
    (scene,) = discover_scenes(bench)
    data = load_scene(scene)
    meshes = [build_methods(["ours"], MethodConfig(ReconstructionConfig(resolution=RESOLUTION, margin_m=margin),
                                                   checkpoints={"ours": checkpoint}))["ours"](data, 0)
              for margin in (DEFAULT_GRID_MARGIN_M, 0.15)]  # fmt: skip
    assert meshes[0].num_faces > 0 and meshes[1].num_faces > 0
    assert meshes[0].vertices.shape != meshes[1].vertices.shape or not np.array_equal(meshes[0].vertices,
                                                                                      meshes[1].vertices)
