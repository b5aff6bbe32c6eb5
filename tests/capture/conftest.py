"""Fixtures of the pipeline tests: one tiny synthetic capture (built once per session) and run folders whose
body stage is taken from the ground truth, so the tests exercise the pipeline, not the body fit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

TINY = dict(category="natural", num_people=2, num_frames=2, seed=3, num_views=3, image_size=128, voxel_size=0.03)


def write_ground_truth_bodies(capture_dir: Path, run_dir: Path) -> list[int]:
    """RUN/body/<frame>.json from the capture's gt/ (true parameters and 3D keypoints); returns the frames."""
    from body.capture_io import BodyPerson, write_body_frame
    from body.params import BodyParams, load_params

    params, meta = load_params(capture_dir / "gt" / "body_params.json")
    scene = json.loads((capture_dir / "gt" / "scene.json").read_text())
    shape = torch.broadcast_to(params.shape, (*params.batch_shape, params.shape.shape[-1]))
    frames = []
    for path in sorted((capture_dir / "gt" / "keypoints3d").glob("*.json")):
        frame = int(path.stem)
        truth = json.loads(path.read_text())
        available = np.asarray(truth["available"], float)
        people = []
        for index, entry in enumerate(scene["people"]):
            person_id = int(entry["person_id"])
            keypoints = next(np.asarray(p["keypoints"]) for p in truth["people"] if p["person_id"] == person_id)
            single = BodyParams(shape[index, frame], params.pose_aa[index, frame], params.global_rot_aa[index, frame],
                                params.transl[index, frame])  # fmt: skip
            people.append(BodyPerson(id=person_id, layout=truth["layout"], keypoints=keypoints, confidence=available,
                                     params=single, model=meta["model"], pose_joint_names=list(meta["pose_joint_names"]),
                                     shape_names=list(meta["shape_names"]), num_views=3))  # fmt: skip
        write_body_frame(run_dir, frame, people)
        frames.append(frame)
    return frames


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
