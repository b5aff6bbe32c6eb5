"""Fixtures of the pipeline tests: one tiny synthetic capture (built once per session) and run folders whose
body stage is taken from the ground truth, so the tests exercise the pipeline, not the body fit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pipeline_helpers import write_ground_truth_bodies

TINY = dict(category="natural", num_people=2, num_frames=2, seed=3, num_views=3, image_size=128, voxel_size=0.03)


@pytest.fixture(scope="session")
def tiny_capture(tmp_path_factory) -> Path:
    """A synthetic capture: 2 people, 3 views of 128 x 128, 2 frames, coarse clothing voxels (rig.yaml inside)."""
    from body.anny_body import AnnyBody
    from synth.capture_writer import write_capture
    from synth.scene import make_scene

    out = tmp_path_factory.mktemp("tiny_capture")
    write_capture(make_scene(AnnyBody(), **TINY), out)
    return out


@pytest.fixture
def gt_run(tiny_capture, tmp_path) -> Path:
    """An empty run folder whose body stage is done (ground-truth bodies)."""
    run = tmp_path / "run"
    write_ground_truth_bodies(tiny_capture, run)
    return run


@pytest.fixture
def private_capture(tiny_capture, tmp_path) -> Path:
    """A copy of the capture that a test may damage; returns its rig.yaml."""
    shutil.copytree(tiny_capture, tmp_path / "capture")
    return tmp_path / "capture" / "rig.yaml"
