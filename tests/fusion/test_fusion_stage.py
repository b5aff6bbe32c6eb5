"""`capture fuse` on a tiny run folder: outputs, absent people, resume and --force."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from body.capture_io import BodyPerson, write_body_frame
from calibration.run_layout import RunLayout
from capture.commands import fuse as fuse_command
from fusion import FusionConfig
from render.mesh import load_mesh, save_mesh
from render.primitives import icosphere


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    fuse_command.register(parser.add_subparsers())
    args = parser.parse_args(["fuse", *argv])
    return args.func(args)


@pytest.fixture
def run_dir(tmp_path, anny_body):
    """3 frames; person 1 in all of them (a sphere at the pelvis, radius growing 1 cm a frame), person 2 only in
    frames 0 and 2, and person 3 with a mesh but no fitted body in frame 0."""
    params = anny_body.neutral_params(())
    with torch.no_grad():
        pelvis = anny_body(params).joints[0].double().numpy()
    for frame in range(3):
        people = []
        for person in (1, 2):
            if person == 2 and frame == 1:
                continue
            center = pelvis + [2.0 * (person - 1), 0.0, 0.0]
            p = params.map(lambda t: t.clone())
            p.transl = p.transl + torch.tensor([2.0 * (person - 1), 0.0, 0.0])
            people.append(BodyPerson(
                id=person, layout="coco17", keypoints=np.zeros((17, 3)), confidence=np.ones(17), params=p,
                model="anny", pose_joint_names=list(anny_body.pose_joint_names), shape_names=list(anny_body.shape_names),
            ))  # fmt: skip
            save_mesh(RunLayout(tmp_path).mesh_file(frame, person), icosphere(0.2 + 0.01 * frame, center, 4))
        write_body_frame(tmp_path, frame, people)
    save_mesh(RunLayout(tmp_path).mesh_file(0, 3), icosphere(0.1, pelvis + [5.0, 0, 0], 3))
    return tmp_path


def test_fuse_writes_every_person_frame_and_resumes(run_dir, caplog):
    assert run_cli(["--run", str(run_dir), "--voxel-size", "0.02"]) == 0
    assert RunLayout(run_dir).find_meshes(fused=True) == {1: {0, 1, 2}, 2: {0, 2}, 3: {0}}
    pelvis = load_mesh(RunLayout(run_dir).mesh_file(1, 1)).vertices.mean(0)
    middle = np.linalg.norm(load_mesh(RunLayout(run_dir).mesh_file(1, 1, fused=True)).vertices - pelvis, axis=1)
    assert abs(np.median(middle) - 0.21) < 2e-3  # mean of radii 0.20, 0.21, 0.22
    start = np.linalg.norm(load_mesh(RunLayout(run_dir).mesh_file(0, 1, fused=True)).vertices - pelvis, axis=1)
    assert abs(np.median(start) - 0.205) < 2e-3  # the window shrinks to frames 0 and 1
    # person 2 is absent in frame 1: frame 0 fuses only with itself (its neighbour 1 is missing)
    centre2 = load_mesh(RunLayout(run_dir).mesh_file(0, 2)).vertices.mean(0)
    first = np.linalg.norm(load_mesh(RunLayout(run_dir).mesh_file(0, 2, fused=True)).vertices - centre2, axis=1)
    assert abs(np.median(first) - 0.20) < 2e-3
    # person 3 has no body: copied as is
    copied = load_mesh(RunLayout(run_dir).mesh_file(0, 3, fused=True))
    np.testing.assert_allclose(copied.vertices, load_mesh(RunLayout(run_dir).mesh_file(0, 3)).vertices, atol=1e-6)

    stamp = RunLayout(run_dir).mesh_file(1, 1, fused=True).stat().st_mtime_ns
    assert run_cli(["--run", str(run_dir), "--voxel-size", "0.02"]) == 0
    assert RunLayout(run_dir).mesh_file(1, 1, fused=True).stat().st_mtime_ns == stamp  # resumed: nothing redone
    assert run_cli(["--run", str(run_dir), "--voxel-size", "0.02", "--window", "1", "--force"]) == 0
    alone = np.linalg.norm(load_mesh(RunLayout(run_dir).mesh_file(0, 1, fused=True)).vertices - pelvis, axis=1)
    assert abs(np.median(alone) - 0.20) < 2e-3  # window 1: frame 0 alone
    assert RunLayout(run_dir).mesh_file(1, 1, fused=True).stat().st_mtime_ns != stamp


def test_empty_run_is_a_user_facing_error(tmp_path):
    from capture.cli import UserFacingError

    with pytest.raises(UserFacingError, match="expected per-frame meshes"):
        run_cli(["--run", str(tmp_path)])


def test_each_frame_is_fused_at_the_voxel_size_its_mesh_was_reconstructed_with(run_dir):
    from fusion.stage import fuse_run
    from implicit.grid import VoxelGrid
    from implicit.reconstruct import ReconstructionConfig, write_mesh_record

    voxels = {frame: 0.02 + 0.005 * frame for frame in range(3)}
    for person, frames in RunLayout(run_dir).find_meshes().items():
        for frame in frames:
            grid = VoxelGrid(np.zeros(3), voxels[frame], (4, 4, 4))
            mesh = RunLayout(run_dir).mesh_file(frame, person)
            write_mesh_record(mesh, "network", grid, ReconstructionConfig())
    summary = fuse_run(run_dir)
    assert summary.voxel_sizes_m == [voxels[0], voxels[1], voxels[2], voxels[0], voxels[2]]  # persons 1, 2 by frame
    assert summary.voxel_note == "voxel 20.0-30.0 mm"
    assert fuse_run(run_dir, FusionConfig(voxel_size_m=0.04), force=True).voxel_sizes_m == [0.04] * 5


def test_a_mesh_without_its_record_needs_a_voxel_size(run_dir):
    from capture.cli import UserFacingError

    with pytest.raises(UserFacingError, match=r"person_1\.json: expected the implicit stage's record.*--voxel-size"):
        run_cli(["--run", str(run_dir)])
    assert RunLayout(run_dir).find_meshes(fused=True) == {}
