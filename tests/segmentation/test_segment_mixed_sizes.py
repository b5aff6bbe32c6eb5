"""A rig of cameras of different image sizes and orientations: every view is segmented at its own size."""

import cv2
import numpy as np
import pytest

from calibration.rig import CaptureLayout, FrameRange, Rig
from calibration.rig_file import save_rig
from calibration.ring_rig import ring_rig
from capture import cli
from segmentation.errors import SegmentationError
from segmentation.frame import FrameInputs, SegmentConfig, segment_frame
from segmentation.labels import label_to_index, read_label_map, read_occluded
from segmentation.metrics import person_iou

SIZES = ((192, 108), (128, 72), (108, 192))
"""(width, height): landscape, a smaller landscape, portrait."""


@pytest.fixture(scope="module")
def mixed_views(anny_body, taichi_arch):
    """Per camera of a 3-camera ring with the sizes of SIZES, the scene of the same two people (same seed)."""
    from synth.segmentation_scenes import make_scene

    cameras = [list(ring_rig(3, radius=4.5, image_size=size, fov_deg=50.0).cameras)[v] for v, size in enumerate(SIZES)]
    return [make_scene(anny_body, "natural", [camera], num_people=2, seed=0) for camera in cameras]


@pytest.mark.parametrize("source", ["masks", "grabcut"])
@pytest.mark.parametrize("working_max_side", [4096, 128])
def test_views_of_different_sizes_are_segmented_each_at_its_size(mixed_views, source, working_max_side):
    """At full size and at a working resolution that scales each view by its own factor (128 px / longer side)."""
    cameras = [scene.cameras[0] for scene in mixed_views]
    truth = [scene.gt_index[0] for scene in mixed_views]
    inputs = FrameInputs(images=[scene.images[0] for scene in mixed_views], masks=[(t >= 0).astype(np.uint8) for t in truth])
    scene = mixed_views[0]
    config = SegmentConfig(working_max_side=working_max_side, min_person_px=0)
    result = segment_frame(cameras, scene.bodies, scene.person_ids, source, inputs, config)
    for v, (width, height) in enumerate(SIZES):
        assert result.index[v].shape == result.foreground[v].shape == (height, width)
        assert result.occluded[v].shape == (2, height, width)
        iou = np.nanmean(person_iou(result.index[v][None], truth[v][None], 2))
        assert iou > (0.85 if source == "masks" else 0.8), f"view {v} ({width}x{height}): person IoU {iou:.3f}"


def test_an_input_of_another_size_than_its_camera_is_named(mixed_views):
    cameras = [scene.cameras[0] for scene in mixed_views]
    images = [scene.images[0] for scene in mixed_views]
    images[2] = images[0]  # the landscape image given for the portrait camera
    scene = mixed_views[0]
    with pytest.raises(SegmentationError, match=rf"view 2 \({cameras[2].name}\): image is 192x108, the camera is 108x192"):
        segment_frame(cameras, scene.bodies, scene.person_ids, "grabcut", FrameInputs(images=images))


@pytest.mark.usefixtures("segment_command")
def test_capture_segment_writes_each_cameras_size(mixed_views, write_scene_bodies, tmp_path, capsys):
    """`capture segment` (GrabCut, no masks) on a capture whose three cameras have three image sizes."""
    scene = mixed_views[0]
    cameras = [view.cameras[0] for view in mixed_views]
    for camera, view in zip(cameras, mixed_views):
        (tmp_path / "images" / camera.name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "images" / camera.name / "000000.png"), cv2.cvtColor(view.images[0], cv2.COLOR_RGB2BGR))
    save_rig(Rig(tuple(cameras), CaptureLayout(images=tmp_path / "images", frames=FrameRange(0, 1))), tmp_path / "rig.yaml")
    write_scene_bodies(tmp_path / "run", scene, 0)
    assert cli.main(["segment", "--rig", str(tmp_path / "rig.yaml"), "--run", str(tmp_path / "run")]) == 0
    assert "source grabcut; 1 frame(s) segmented" in capsys.readouterr().out
    for camera, view, (width, height) in zip(cameras, mixed_views, SIZES):
        labels = read_label_map(tmp_path / "run" / "masks" / camera.name / "000000.png")
        assert labels.shape == (height, width)
        assert read_occluded(tmp_path / "run" / "masks" / camera.name / f"000000_occluded_{scene.person_ids[0]}.png").shape == (height, width)
        index = label_to_index(labels, scene.person_ids)
        assert np.nanmean(person_iou(index[None], view.gt_index, 2)) > 0.8
