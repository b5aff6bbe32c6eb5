"""Helpers for the pipeline tests (a module with a unique name, importable from any test file in this folder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch


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
