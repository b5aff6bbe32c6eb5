"""The keypoint stage: tile sizes from the rig, rig-guided re-detection, the previous frame's people, coverage
(a fake detector on drawn pillars; no BlazePose)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from detect_helpers import PillarDetector, pillar_image

from body.detection.openpose_json import read_openpose_json
from body.detection.rig_scale import capture_volume_center, expected_box, tile_sizes
from body.detection.stage import KeypointStageConfig, run_keypoint_stage
from calibration.camera import Camera, look_at_rotation
from calibration.rig import CaptureLayout, Rig
from calibration.ring_rig import ring_rig

A, B = (0.0, 0.0), (1.06, 1.06)
"""Floor positions (metres): A in the middle of the ring, B nearer cam00 and cam01 than cam02 and cam03."""


def test_capture_volume_centre_is_where_the_axes_meet_and_tiles_follow_the_person_size():
    rig = ring_rig(5, radius=4.5, height=2.2, target=(0.3, -0.2, 0.9), image_size=(1920, 1080), fov_deg=70)
    np.testing.assert_allclose(capture_volume_center(rig.cameras), [0.3, -0.2, 0.9], atol=1e-9)
    sizes = tile_sizes(rig.cameras)
    for camera in rig:  # twice the pixel height of 1.8 m at the camera's distance to the target
        distance = np.linalg.norm(camera.center - np.array([0.3, -0.2, 0.9]))
        assert sizes[camera.name] == round(2 * camera.K[1, 1] * 1.8 / distance)
    near = tile_sizes(ring_rig(5, radius=2.5, height=2.2, image_size=(1920, 1080), fov_deg=70).cameras)
    assert all(near[name] > sizes[name] for name in sizes)  # nearer people, larger tiles
    small = tile_sizes(ring_rig(4, radius=3.0, image_size=(400, 300), fov_deg=60).cameras)
    assert set(small.values()) == {0}  # a tile would cover the whole image


def test_a_rig_whose_axes_do_not_meet_has_no_centre_and_no_tiles():
    R = look_at_rotation(np.zeros(3), np.array([1.0, 0.0, 0.0]))
    K = np.array([[1000.0, 0, 959.5], [0, 1000.0, 539.5], [0, 0, 1]])
    cameras = [Camera(f"c{i}", 1920, 1080, K, np.zeros(5), R, -R @ np.array([0.0, y, 1.5])) for i, y in enumerate((0, 1))]
    assert capture_volume_center(cameras) is None
    assert tile_sizes(cameras) == {"c0": 0, "c1": 0}


def test_expected_box_needs_the_person_in_front_of_the_camera_and_inside_the_image():
    camera = ring_rig(1, radius=4.0, image_size=(400, 300), fov_deg=60)["cam00"]  # at (4, 0, 1.5), looking at -x
    joints = np.array([[0.0, 0.0, z] for z in (0.1, 0.9, 1.7)])
    box = expected_box(camera, joints, np.ones(3))
    pixels = camera.project(joints)
    np.testing.assert_allclose(box, [*pixels.min(0), pixels[:, 0].max() + 1.0, pixels[:, 1].max()])
    assert expected_box(camera, joints + [8.0, 0, 0], np.ones(3)) is None  # behind the camera
    assert expected_box(camera, joints, np.zeros(3)) is None  # nothing triangulated


def _capture(tmp_path, frames: dict[int, dict[str, list]]) -> Rig:
    """A 4-camera ring (400 x 300) with images/<cam>/<frame>.png of pillars at the given positions per view."""
    cameras = ring_rig(4, radius=4.0, image_size=(400, 300), fov_deg=60).cameras
    for frame, views in frames.items():
        for camera in cameras:
            image = pillar_image(camera, views.get(camera.name, views["*"]))
            path = tmp_path / "images" / camera.name / f"{frame:06d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), image)
    return Rig(cameras, CaptureLayout(images=tmp_path / "images"))


def _people(run, camera: str, frame: int) -> int:
    return len(read_openpose_json(run / "keypoints" / camera / f"{frame:06d}.json"))


def test_a_person_other_views_triangulated_is_found_again_where_the_full_frame_missed_them(tmp_path):
    rig = _capture(tmp_path, {0: {"*": [A, B]}})
    frames = {name: [0] for name in rig.names}
    before = run_keypoint_stage(rig, tmp_path / "before", frames, KeypointStageConfig(tile_size=0, redetect=False),
                                detector=PillarDetector())  # fmt: skip
    # B is too small for the full frame in cam02 and cam03 (farther), found in cam00 and cam01 only
    assert [_people(tmp_path / "before", name, 0) for name in rig.names] == [2, 2, 1, 1]
    assert before.coverage[0]["cam02"] == {"expected": 2, "found": 1, "detections": 1}
    detector = PillarDetector()
    after = run_keypoint_stage(rig, tmp_path / "after", frames, KeypointStageConfig(), detector=detector)
    assert [_people(tmp_path / "after", name, 0) for name in rig.names] == [2, 2, 2, 2]
    assert after.totals() == {name: (2, 2) for name in rig.names}
    assert all(0 < size < 400 for size in after.tile_sizes.values())  # 310 px: two tiles side by side
    assert detector.calls == 4 * (1 + 2) + 2  # full frames and tiles, then one crop in each view that missed B
    saved = json.loads((tmp_path / "after" / "report" / "keypoints" / "coverage.json").read_text())
    assert saved["0"]["cam03"] == {"expected": 2, "found": 2, "detections": 2}
    assert (tmp_path / "after" / "report" / "keypoints" / "cam00_000000.png").is_file()

    rerun = PillarDetector()  # finished frames are read, not detected again
    again = run_keypoint_stage(rig, tmp_path / "after", frames, KeypointStageConfig(), detector=rerun)
    assert (again.written, again.skipped, rerun.calls) == (0, 4, 0)
    assert again.coverage == after.coverage


def test_the_previous_frame_finds_a_person_only_one_view_sees_now(tmp_path):
    # frame 1: B hidden in cam01, so only cam00's full frame finds B; cam02 and cam03 need B's place from frame 0
    rig = _capture(tmp_path, {0: {"*": [A, B]}, 1: {"*": [A, B], "cam01": [A]}})
    summary = run_keypoint_stage(rig, tmp_path / "run", {name: [0, 1] for name in rig.names}, detector=PillarDetector())
    assert [_people(tmp_path / "run", name, 1) for name in rig.names] == [2, 1, 2, 2]
    assert summary.coverage[1]["cam01"] == {"expected": 2, "found": 1, "detections": 1}  # B projects there, hidden
    alone = run_keypoint_stage(rig, tmp_path / "alone", {name: [1] for name in rig.names}, detector=PillarDetector())
    assert [_people(tmp_path / "alone", name, 1) for name in rig.names] == [2, 1, 1, 1]  # no previous frame
    assert alone.totals()["cam00"] == (1, 1)  # only A is triangulated


@pytest.mark.parametrize("tile_size", [0, 160])
def test_a_fixed_tile_size_applies_to_every_view(tmp_path, tile_size):
    rig = _capture(tmp_path, {0: {"*": [A]}})
    summary = run_keypoint_stage(rig, tmp_path / "run", {"cam00": [0], "cam01": [0]},
                                 KeypointStageConfig(tile_size=tile_size), detector=PillarDetector())  # fmt: skip
    assert summary.tile_sizes == {"cam00": tile_size, "cam01": tile_size}
    assert summary.totals() == {"cam00": (1, 1), "cam01": (1, 1)}


def test_capture_keypoints_and_the_pipeline_run_the_stage_with_its_defaults(tmp_path, monkeypatch, capsys):
    import argparse

    from calibration.rig_file import load_rig, save_rig
    from capture.commands import keypoints
    import dataclasses

    from body.detection.stage import KeypointStageConfig
    from capture.pipeline import ReconstructConfig, stage_configs, stage_keypoints

    save_rig(_capture(tmp_path, {0: {"*": [A, B]}}), tmp_path / "rig.yaml")
    monkeypatch.setattr("body.detection.registry.create_detector", lambda *args, **kwargs: PillarDetector())
    parser = argparse.ArgumentParser()
    keypoints.register(parser.add_subparsers())
    args = parser.parse_args(["keypoints", "--rig", str(tmp_path / "rig.yaml"), "--out", str(tmp_path / "run")])
    assert args.func(args) == 0
    assert "per view (triangulated from >= 2 views, projected): cam00 2/2, cam01 2/2, cam02 2/2, cam03 2/2" in (
        capsys.readouterr().out
    )
    assert _people(tmp_path / "run", "cam02", 0) == 2  # found again in the view whose full frame missed B

    rig = load_rig(tmp_path / "rig.yaml")
    rig = dataclasses.replace(rig, layout=dataclasses.replace(rig.layout, keypoints=None))
    config = ReconstructConfig(tmp_path / "rig.yaml", tmp_path / "rec")
    detect = stage_configs(rig, config).keypoints
    assert detect == KeypointStageConfig()  # the stage's defaults, nothing else
    record = stage_keypoints(rig, config, detect)
    assert record.status == "done" and "people found in 8 of 8 views" in record.note
    assert _people(tmp_path / "rec", "cam03", 0) == 2
