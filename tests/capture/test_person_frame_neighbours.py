"""`capture reconstruct` keeps the network's occupancy of one person off the person beside them
(implicit.neighbours through capture.person_frame), on two touching synthetic people."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
from pipeline_helpers import write_ground_truth_bodies

from body.frame_bodies import read_frame_bodies
from calibration.run_layout import RunLayout
from capture import person_frame
from capture.pipeline import ReconstructConfig, reconstruct
from implicit.neighbours import SignedDistance
from render import load_mesh
from render.mesh import Mesh

RESOLUTION = 32
MARGIN_M = 0.03


@pytest.fixture(scope="module")
def close_capture(tmp_path_factory) -> Path:
    """Two people in contact, 3 views of 96 x 96, one frame."""
    from body.anny_body import AnnyBody
    from synth.capture_writer import write_capture
    from synth.scene import make_scene

    out = tmp_path_factory.mktemp("close_capture")
    write_capture(make_scene(AnnyBody(), "close", 2, num_frames=1, seed=5, num_views=3, image_size=96, voxel_size=0.04), out)
    return out


@pytest.fixture
def occupied_everywhere(monkeypatch):
    """A stand-in network whose occupancy is 1 at every point: the person's mesh is its whole grid box, minus what
    the neighbour rule takes away."""
    from implicit.config import tiny_config

    monkeypatch.setattr(person_frame, "_network", lambda path, device: types.SimpleNamespace(config=tiny_config()))
    def everywhere(model, inputs, fine):
        return lambda p: np.ones(len(p), np.float32)

    monkeypatch.setattr("implicit.reconstruct.occupancy_function", everywhere)


def bodies(run: Path) -> dict[int, Mesh]:
    return {pid: body.mesh() for pid, body in read_frame_bodies(RunLayout(run), 0).items()}


def claimed_depth(mesh: Mesh, own: Mesh, other: Mesh) -> np.ndarray:
    """(N,) metres by which each vertex lies inside the region the other body claims (<= 0: not claimed)."""
    return SignedDistance(own)(mesh.vertices) - MARGIN_M - SignedDistance(other)(mesh.vertices)


@pytest.mark.parametrize("margin", [MARGIN_M, None])
def test_the_network_mesh_stays_out_of_the_neighbours_space(close_capture, tmp_path, occupied_everywhere, margin):
    run = tmp_path / "run"
    write_ground_truth_bodies(close_capture, run)
    config = ReconstructConfig(rig=close_capture / "rig.yaml", out=run, resolution=RESOLUTION, method="network",
                               model="small", frames="0:1", fusion=False, neighbour_margin_m=margin)  # fmt: skip
    result = reconstruct(config)
    assert result.method == "network" and result.stages["implicit"].done == 2
    assert json.loads((run / "run.json").read_text())["settings"]["neighbour_margin_m"] == margin
    body = bodies(run)
    for person, other in ((0, 1), (1, 0)):
        mesh = load_mesh(RunLayout(run).mesh_file(0, person))
        depth = claimed_depth(mesh, body[person], body[other])
        voxel = np.ptp(mesh.vertices, axis=0).max() / (RESOLUTION - 1)
        if margin is None:
            assert depth.max() > 2 * voxel  # without the rule the box reaches deep into the neighbour's space
        else:
            assert depth.max() < voxel  # with it, the surface stops where the neighbour's space begins (within a voxel)
            assert (SignedDistance(body[person])(mesh.vertices) > 0).all()  # and the person's own body stays inside
