"""The one image-size rule every stage applies to a capture's images (body.detection.frames.conform_to_camera)."""

from __future__ import annotations

import numpy as np
import pytest

from body.detection.errors import DetectionError
from body.detection.frames import CODEC_CROP_PX, conform_to_camera
from calibration.camera import Camera


def camera(width: int = 1088, height: int = 1920) -> Camera:
    K = np.array([[1500.0, 0, width / 2], [0, 1500.0, height / 2], [0, 0, 1]])
    return Camera("cam01", width, height, K)


def image(width: int, height: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)


def test_the_calibrated_size_is_returned_as_is():
    picture = image(1088, 1920)
    assert conform_to_camera(picture, camera(), 0) is picture


def test_a_codec_cropped_frame_is_padded_at_the_right_and_bottom_keeping_pixel_coordinates():
    picture = image(1080, 1914)
    padded = conform_to_camera(picture, camera(), 3)
    assert padded.shape == (1920, 1088, 3)
    np.testing.assert_array_equal(padded[:1914, :1080], picture)  # coordinates unchanged
    np.testing.assert_array_equal(padded[:1914, 1080:], np.repeat(picture[:, -1:], 8, axis=1))  # last column
    np.testing.assert_array_equal(padded[1914:, :1080], np.repeat(picture[-1:], 6, axis=0))  # last row


@pytest.mark.parametrize(
    "width, height", [(1088 - CODEC_CROP_PX - 1, 1920), (1088, 1920 - CODEC_CROP_PX - 1), (1096, 1920), (544, 960)]
)
def test_any_other_size_is_refused_naming_camera_frame_sizes_and_rig(width, height):
    with pytest.raises(DetectionError, match=rf"camera cam01 frame 7: images are {width}x{height} but the rig "
                       r"says 1088x1920 \(rig.yaml\); rescale"):  # fmt: skip
        conform_to_camera(image(width, height), camera(), 7, "rig.yaml")
