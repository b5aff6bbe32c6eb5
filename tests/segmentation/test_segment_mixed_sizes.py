"""A rig of cameras of different image sizes and orientations: every view is segmented at its own size."""

import numpy as np
import pytest

from calibration.ring_rig import ring_rig
from segmentation.errors import SegmentationError
from segmentation.frame import FrameInputs, SegmentConfig, segment_frame
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
