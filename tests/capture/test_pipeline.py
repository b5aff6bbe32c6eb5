"""`capture reconstruct` end to end on a tiny synthetic capture through the visual-hull path: outputs, run.json,
report, resume after a failure / corruption / deletion (byte-identical meshes), refused settings changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from calibration.run_layout import RunLayout
from capture.person_frame import reconstruct_person_frame
from capture.pipeline import PipelineError, ReconstructConfig, reconstruct
from render import load_mesh

RESOLUTION = 40


def config_for(capture: Path, run: Path, **changes) -> ReconstructConfig:
    settings = dict(rig=capture / "rig.yaml", out=run, resolution=RESOLUTION, method="visual-hull", fusion=False)
    settings.update(changes)
    return ReconstructConfig(**settings)


def outputs(run: Path) -> dict[str, bytes]:
    """Every mesh of the run, relative path -> bytes."""
    return {str(p.relative_to(run)): p.read_bytes() for folder in ("meshes", "fused", "scene") for p in sorted((run / folder).rglob("*.ply"))}


def test_visual_hull_run_writes_every_output(tiny_capture, gt_run):
    result = reconstruct(config_for(tiny_capture, gt_run, fusion=True))
    assert result.frames == [0, 1] and result.people == [0, 1] and result.method == "visual-hull"
    assert result.stages["body"].status == "skipped" and result.stages["keypoints"].status == "off"
    for frame in (0, 1):
        per_person = []
        for person in (0, 1):
            mesh = load_mesh(RunLayout(gt_run).mesh_file(frame, person))
            assert mesh.colors is not None and mesh.colors.std() > 0.02  # coloured from the images, not uniform
            fused = load_mesh(gt_run / "fused" / f"{frame:06d}" / f"person_{person}.ply")
            assert fused.colors is not None
            per_person.append(fused)
            truth = load_mesh(tiny_capture / "gt" / "meshes" / f"{frame:06d}" / f"person_{person}.ply")
            # the hull contains the person: its box covers the ground truth's within a few voxels
            voxel = 2.3 / RESOLUTION
            assert np.all(mesh.vertices.min(0) <= truth.vertices.min(0) + 2 * voxel)
            assert np.all(mesh.vertices.max(0) >= truth.vertices.max(0) - 2 * voxel)
        scene = load_mesh(RunLayout(gt_run).scene_file(frame))
        assert scene.num_vertices == sum(m.num_vertices for m in per_person)  # the fused people, world coordinates
    record = json.loads((gt_run / "run.json").read_text())
    assert record["status"] == "finished" and record["settings"]["method"] == "visual-hull"
    assert set(record["stages"]) == {"keypoints", "body", "segment", "implicit", "fusion", "scene", "report"}
    assert record["stages"]["implicit"]["done"] == 4 and record["stages"]["implicit"]["seconds"] > 0
    assert record["versions"]["numpy"] == np.__version__
    ious = json.loads((gt_run / "report" / "iou.json").read_text())["frames"]
    assert set(ious) == {"0", "1"} and all(len(views) == 3 for views in ious.values())
    assert all(0.8 < scores["all"] <= 1.0 and "0" in scores and "1" in scores for v in ious.values() for scores in v.values())
    # the (ground-truth) bodies against the masks of the clothed people: 0.74-0.83 when written
    assert all(0.65 < scores[f"body {p}"] <= 1.0 for v in ious.values() for scores in v.values() for p in (0, 1))
    page = (gt_run / "report" / "index.html").read_text()
    assert "IoU" in page and "frames/000001_cam02.png" in page and (gt_run / "report" / "frames" / "000001_cam02.png").is_file()


def test_resume_after_a_failure_corruption_and_deletion_gives_identical_meshes(tiny_capture, gt_run, tmp_path):
    reference = tmp_path / "reference"
    shutil.copytree(gt_run, reference)
    reconstruct(config_for(tiny_capture, reference))
    expected = outputs(reference)
    assert len(expected) == 6  # 2 frames x 2 people + 2 scenes

    calls = []

    def crash_on_third(task):
        calls.append(task)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return reconstruct_person_frame(task)

    with pytest.raises(PipelineError, match="frame 1, person 0: simulated crash.*rerun the same command"):
        reconstruct(config_for(tiny_capture, gt_run), task_function=crash_on_third)
    assert json.loads((gt_run / "run.json").read_text())["status"] == "failed"
    written = outputs(gt_run)
    assert len(written) == 3 and all(expected[name] == data for name, data in written.items())  # finished work kept

    reconstruct(config_for(tiny_capture, gt_run))
    assert outputs(gt_run) == expected
    record = json.loads((gt_run / "run.json").read_text())
    assert record["stages"]["implicit"] == {**record["stages"]["implicit"], "done": 1, "skipped": 3}
    assert record["history"][-1]["status"] == "failed"

    damaged = RunLayout(gt_run).mesh_file(0, 1)
    damaged.write_bytes(damaged.read_bytes()[:200])  # truncated, e.g. by a full disk
    RunLayout(gt_run).scene_file(1).unlink()
    reconstruct(config_for(tiny_capture, gt_run))
    assert outputs(gt_run) == expected
    assert damaged.with_name(damaged.name + ".corrupt").is_file()  # kept aside, not deleted


def test_other_settings_are_refused_without_force(tiny_capture, gt_run):
    reconstruct(config_for(tiny_capture, gt_run, people=(1,)))
    assert not RunLayout(gt_run).mesh_file(0, 0).exists() and RunLayout(gt_run).mesh_file(0, 1).is_file()
    with pytest.raises(PipelineError, match=r"resolution 40 \(now 32\).*--force"):
        reconstruct(config_for(tiny_capture, gt_run, resolution=32, people=(1,)))
    reconstruct(config_for(tiny_capture, gt_run, people=(0, 1)))  # same settings, more people: resumes
    assert RunLayout(gt_run).mesh_file(0, 0).is_file()


def test_unknown_person_and_bad_frames_are_named(tiny_capture, gt_run):
    with pytest.raises(PipelineError, match=r"--people: no track with id\(s\) \[7\].*tracks found: \[0, 1\]"):
        reconstruct(config_for(tiny_capture, gt_run, people=(7,)))
    with pytest.raises(PipelineError, match="--frames: expected START:STOP"):
        reconstruct(config_for(tiny_capture, gt_run, frames="a:b"))


@pytest.mark.parametrize("executor, workers", [("local", 2), ("ray", 2)])
def test_process_pool_and_ray_give_the_same_meshes_as_one_process(tiny_capture, gt_run, tmp_path, executor, workers):
    """Ray comes with the `dev` extra, so this runs (never skips) wherever the test suite is installed."""
    reference = tmp_path / "reference"
    shutil.copytree(gt_run, reference)
    reconstruct(config_for(tiny_capture, reference))
    try:
        reconstruct(config_for(tiny_capture, gt_run, executor=executor, workers=workers))
    finally:
        if executor == "ray":
            import ray

            ray.shutdown()
    assert outputs(gt_run) == outputs(reference)


@pytest.mark.slow
def test_sigkill_during_the_implicit_stage_then_rerun_gives_identical_meshes(tiny_capture, gt_run, tmp_path):
    import subprocess
    import sys
    import time

    reference = tmp_path / "reference"
    shutil.copytree(gt_run, reference)
    reconstruct(config_for(tiny_capture, reference))
    script = (
        "import sys; from pathlib import Path; from capture.pipeline import ReconstructConfig, reconstruct; "
        f"reconstruct(ReconstructConfig(rig=Path(sys.argv[1]), out=Path(sys.argv[2]), resolution={RESOLUTION}, "
        "method='visual-hull', fusion=False))"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(tiny_capture / "rig.yaml"), str(gt_run)])
    deadline = time.monotonic() + 300
    while not list((gt_run / "meshes").glob("*/person_*.ply")) and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    process.kill()  # SIGKILL: no clean-up runs
    process.wait()
    finished = outputs(gt_run)
    assert 1 <= len(finished) < 4 and all(data == outputs(reference)[name] for name, data in finished.items())
    reconstruct(config_for(tiny_capture, gt_run))
    assert outputs(gt_run) == outputs(reference)
    assert not list(gt_run.rglob(".*.tmp"))


def test_shipped_network_reconstructs_people_where_they_stand(tiny_capture, gt_run):
    """Inference at low resolution with the shipped `small` weights through the whole stage (docs/MODELS.md)."""
    from implicit.training import SHIPPED_WEIGHTS_DIR

    if not (SHIPPED_WEIGHTS_DIR / "small.pt").is_file():
        pytest.skip("no shipped small weights")
    result = reconstruct(config_for(tiny_capture, gt_run, method="network", model="small", resolution=32, frames="0:1"))
    assert result.method == "network"
    for person in (0, 1):
        mesh = load_mesh(RunLayout(gt_run).mesh_file(0, person))
        truth = load_mesh(tiny_capture / "gt" / "meshes" / "000000" / f"person_{person}.ply")
        assert mesh.num_faces > 100
        # the mesh stands where the true person stands (world coordinates), about as tall
        assert np.linalg.norm(mesh.vertices.mean(0)[:2] - truth.vertices.mean(0)[:2]) < 0.15
        height, true_height = np.ptp(mesh.vertices[:, 2]), np.ptp(truth.vertices[:, 2])
        assert abs(height - true_height) < 0.25 * true_height
