"""`capture reconstruct` end to end, with its defaults, on the real Pose2Sim videos (../shared/data/pose2sim_demo):
the rig imported from the Qualisys TOML, `capture: {videos: ...}`, cam01/cam02 decoding 8 px narrower than
calibrated (codec cropping). Slow: detection, fit, GrabCut segmentation of 1088x1920 views and the network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
import yaml

from capture.cli import main

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pose2sim_demo"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"real data not found at {DATA} (../shared beside the repo)"),
]


def test_pose2sim_videos_reconstruct_end_to_end_with_defaults(tmp_path: Path):
    rig = tmp_path / "rig.yaml"
    toml = DATA / "calibration" / "Calib_qualisys_converted.toml"
    assert main(["rig", "import", "--format", "anipose", str(toml), "--out", str(rig)]) == 0
    document = yaml.safe_load(rig.read_text())
    document["capture"] = {"videos": str(DATA / "videos"), "fps": 60}
    rig.write_text(yaml.safe_dump(document))

    run = tmp_path / "run"
    assert main(["reconstruct", "--rig", str(rig), "--out", str(run), "--frames", "0:3"]) == 0

    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished"
    for frame in (0, 1, 2):
        mesh = trimesh.load(run / "fused" / f"{frame:06d}" / "person_0.ply")  # the subject on the treadmill
        parts = mesh.split(only_watertight=False)
        assert max(part.area for part in parts) > 0.95 * mesh.area  # one body, not fragments
        height = float(np.ptp(mesh.vertices[:, 2]))  # the Qualisys world is z-up
        assert 1.5 < height < 1.95, height
    iou = json.loads((run / "report" / "iou.json").read_text())["frames"]["0"]
    assert np.mean([view["all"] for view in iou.values()]) > 0.7  # mesh silhouettes vs the segmentation
