"""Bad input to `capture reconstruct` and what the user sees (the table in docs/pipeline.md): missing views, images of
the wrong size, a corrupt image, nobody found, a person leaving the rig, a crashed stage. Each message names the
file or field and comes as a PipelineError (printed without a traceback), or the frame is flagged and the run
completes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from pipeline_helpers import write_ground_truth_bodies

from body.capture_io import read_body_frame, write_body_frame
from calibration.run_layout import RunLayout
from capture.pipeline import PipelineError, ReconstructConfig, reconstruct
from render import load_mesh

RESOLUTION = 24


def run_on(rig: Path, tmp_path: Path, **changes) -> tuple[ReconstructConfig, Path]:
    """A run folder for the (possibly damaged) capture of `rig`, body stage from its ground truth."""
    run = tmp_path / "run"
    write_ground_truth_bodies(rig.parent, run)
    settings = dict(rig=rig, out=run, resolution=RESOLUTION, method="visual-hull", fusion=False)
    settings.update(changes)
    return ReconstructConfig(**settings), run


def fails_with(config: ReconstructConfig, pattern: str) -> PipelineError:
    with pytest.raises(PipelineError, match=pattern) as caught:
        reconstruct(config)
    assert json.loads((config.out / "run.json").read_text())["status"] == "failed"
    return caught.value


def test_a_missing_image_names_the_camera_frame_and_folder_and_keeps_the_other_frame(private_capture, tmp_path):
    config, run = run_on(private_capture, tmp_path)
    (private_capture.parent / "images" / "cam01" / "000001.png").unlink()
    error = fails_with(config, r"stage implicit failed: .*frame 1, person 0: camera cam01: no image for frame 1 in "
                               r".*images/cam01.*rerun the same command")  # fmt: skip
    assert "Traceback" not in str(error)
    assert RunLayout(run).mesh_file(0, 0).is_file() and RunLayout(run).mesh_file(0, 1).is_file()  # frame 0 done and kept


def test_a_missing_camera_folder_is_named_when_the_rig_is_loaded(private_capture, tmp_path):
    from calibration.errors import RigError  # the CLI prints it without a traceback

    config, run = run_on(private_capture, tmp_path)
    shutil.rmtree(private_capture.parent / "images" / "cam02")
    with pytest.raises(RigError, match=r"rig.yaml: camera 'cam02': field 'capture.images': expected the camera's "
                                       r"folder .*images/cam02"):  # fmt: skip
        reconstruct(config)
    assert not (run / "meshes").exists() and not (run / "run.json").exists()


def test_a_wrong_sized_image_fails_its_person_frames_and_names_the_file(private_capture, tmp_path):
    config, run = run_on(private_capture, tmp_path)
    image = private_capture.parent / "images" / "cam01" / "000001.png"
    cv2.imwrite(str(image), cv2.imread(str(image))[:64, :64])
    fails_with(config, r"camera cam01 frame 1: images are 64x64 but the rig says 128x128 \(.*rig.yaml\)")
    assert RunLayout(run).mesh_file(0, 0).is_file() and RunLayout(run).mesh_file(0, 1).is_file()  # frame 0 still done


@pytest.mark.parametrize("frame, stage", [(0, "segment"), (1, "implicit")])
def test_a_corrupt_image_is_named(private_capture, tmp_path, frame, stage):
    """Frame 0's images are read by the segmentation's overlays, frame 1's only by the reconstruction."""
    config, _ = run_on(private_capture, tmp_path)
    image = private_capture.parent / "images" / "cam00" / f"{frame:06d}.png"
    image.write_bytes(image.read_bytes()[:40])  # a truncated file
    fails_with(config, rf"stage {stage} failed: .*cam00/{frame:06d}.png: OpenCV cannot read this image")


def test_nobody_found_says_so_before_segmenting(private_capture, tmp_path):
    config, run = run_on(private_capture, tmp_path)
    for frame in (0, 1):
        write_body_frame(run, frame, [])
    fails_with(config, r"run/body: nobody was found in frames 0..1")
    assert not (run / "masks").exists()


def _erase_person(capture: Path, frame: int, person: int) -> None:
    """Paint `person` out of every view of `frame`: background colour in the images, 0 in the masks."""
    for mask_path in sorted((capture / "masks").glob(f"*/{frame:06d}.png")):
        mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
        image_path = capture / "images" / mask_path.parent.name / mask_path.name
        image = cv2.imread(str(image_path))
        image[mask == person + 1] = np.median(image[mask == 0], axis=0)
        mask[mask == person + 1] = 0
        cv2.imwrite(str(mask_path), mask)
        cv2.imwrite(str(image_path), image)


def test_a_person_leaving_the_rig_is_flagged_and_the_run_completes(private_capture, tmp_path):
    """Frame 1: person 1 has left (no track, not in the images); the run finishes and the report flags it."""
    config, run = run_on(private_capture, tmp_path)
    _erase_person(private_capture.parent, 1, person=1)
    path = RunLayout(run).body_file(1)
    _, people = read_body_frame(path)
    write_body_frame(run, 1, [p for p in people if p.id != 1])
    result = reconstruct(config)
    assert result.people == [0, 1] and result.stages["report"].status == "done"
    assert RunLayout(run).mesh_file(1, 0).is_file() and not RunLayout(run).mesh_file(1, 1).exists()
    assert load_mesh(RunLayout(run).scene_file(1)).num_vertices == load_mesh(RunLayout(run).mesh_file(1, 0)).num_vertices
    missing = json.loads((run / "report" / "iou.json").read_text())["missing"]
    assert missing == {"1": {"1": "not tracked in this frame (left the rig or not seen)"}}
    assert "Person 1: not tracked in this frame" in (run / "report" / "index.html").read_text()
    assert "person missing in frame(s) 1" in result.stages["report"].note


def test_a_tracked_person_absent_from_the_masks_is_an_empty_person_frame_flagged_in_the_report(private_capture, tmp_path):
    config, run = run_on(private_capture, tmp_path)
    _erase_person(private_capture.parent, 1, person=1)  # the body stage still places person 1 there
    result = reconstruct(config)
    assert RunLayout(run).empty_marker(1, 1).is_file() and not RunLayout(run).mesh_file(1, 1).exists()
    assert result.stages["implicit"].done == 4 and result.stages["report"].status == "done"
    missing = json.loads((run / "report" / "iou.json").read_text())["missing"]
    assert missing == {"1": {"1": "empty reconstruction (not in the masks)"}}
    rerun = reconstruct(config)  # the empty person-frame counts as finished
    assert rerun.stages["implicit"].status == "skipped" and rerun.stages["implicit"].skipped == 4


def test_a_crashed_stage_is_named_without_a_traceback_and_a_rerun_completes(tiny_capture, tmp_path, monkeypatch):
    import fusion.stage

    config, run = run_on(tiny_capture / "rig.yaml", tmp_path, fusion=True)

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(fusion.stage, "fuse_run", crash)
    fails_with(config, r"stage fusion crashed: RuntimeError: simulated crash \(run with -v for the traceback\); "
                       r"finished work is kept in .*run, rerun the same command")  # fmt: skip
    record = json.loads((run / "run.json").read_text())
    assert record["stages"]["fusion"]["status"] == "failed" and record["stages"]["implicit"]["status"] == "done"
    written = {p: p.read_bytes() for p in sorted((run / "meshes").rglob("*.ply"))}
    assert len(written) == 4
    monkeypatch.undo()
    result = reconstruct(config)
    assert result.stages["implicit"].skipped == 4 and result.stages["fusion"].status == "done"
    assert {p: p.read_bytes() for p in sorted((run / "meshes").rglob("*.ply"))} == written


def test_ray_missing_is_named_with_the_flag_and_how_to_install_it(monkeypatch):
    import sys

    from capture.executors import ExecutorError, make_executor

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as without the package
    with pytest.raises(ExecutorError, match=r"--executor ray: the 'ray' package is not installed.*pip install"):
        make_executor("ray", 1)
