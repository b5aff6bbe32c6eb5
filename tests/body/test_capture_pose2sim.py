"""`capture body` on the real Pose2Sim demo (../shared/data/pose2sim_demo): OpenPose BODY_25B, folder mapping,
association of the subject and the bystander, triangulation against Pose2Sim's reference .trc.

Measured (2026-11-21, frames 0-29, --no-fit): see docs/BENCHMARKS.md (## 4D body capture) for all 100 frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from body.capture_io import read_body_frame
from body.keypoint_layouts import get_layout
from calibration.formats import import_rig
from calibration.rig import CaptureLayout, Rig
from calibration.rig_file import save_rig
from capture.commands import body as body_command

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pose2sim_demo"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data not found at {DATA} (../shared beside the repo)")
FRAMES = 30


def read_trc_world(path: Path) -> tuple[list[str], np.ndarray]:
    """Marker names and (T, J, 3) world metres; the .trc's (X, Y, Z) = world (y, z, x)."""
    lines = path.read_text().splitlines()
    names = [name for name in lines[3].split("\t") if name][2:]
    values = np.array([[float(v) for v in line.split("\t")] for line in lines[5:] if line.strip()])
    return names, values[:, 2:].reshape(len(values), len(names), 3)[..., [2, 0, 1]]


def test_pose2sim_through_capture_body(tmp_path):
    rig = import_rig("anipose", [DATA / "calibration" / "Calib_qualisys_converted.toml"])
    layout = CaptureLayout(keypoints=DATA / "pose_openpose_json_BODY25B", keypoint_format="openpose",
                           camera_folders={name: f"{name}_json" for name in rig.names})  # fmt: skip
    save_rig(Rig(rig.cameras, layout), tmp_path / "rig.yaml")
    parser = argparse.ArgumentParser()
    body_command.register(parser.add_subparsers())
    args = parser.parse_args(["body", "--rig", str(tmp_path / "rig.yaml"), "--layout", "body25b", "--out",
                              str(tmp_path / "run"), "--frames", f"0:{FRAMES}", "--no-fit"])  # fmt: skip
    assert args.func(args) == 0

    names, reference = read_trc_world(DATA / "pose2sim_triangulated_reference_0-100.trc")
    columns = [get_layout("body25b").labels.index(name) for name in names]
    distances, ids = [], set()
    for t in range(FRAMES):
        frame, people = read_body_frame(tmp_path / "run" / "body" / f"{t:06d}.json")
        ids |= {p.id for p in people}
        subject = max(people, key=lambda p: p.num_views)  # the bystander is seen by cam01 and cam02 only
        assert subject.num_views >= 3
        seen = subject.confidence[columns] > 0
        distances.append(np.linalg.norm(subject.keypoints[columns][seen] - reference[t, seen], axis=-1))
    distances = np.concatenate(distances)
    assert ids == {0, 1}  # the subject and the bystander, stable over the frames
    assert np.median(distances) < 0.03, np.median(distances)
    assert len(distances) > 0.9 * FRAMES * len(names)
