"""Label-map encoding: 0 background, 1 + track id; uint8 below 255, else uint16; occlusion PNGs."""

import numpy as np
import pytest

from calibration.run_layout import RunLayout
from segmentation.errors import SegmentationError
from segmentation.labels import (
    index_to_label,
    label_to_index,
    read_label_map,
    read_occluded,
    write_label_map,
    write_occluded,
)


def test_convention_label_is_one_plus_track_id():
    index = np.array([[-1, 0], [1, 1]])
    labels = index_to_label(index, [7, 3])
    assert labels.dtype == np.uint8
    assert labels.tolist() == [[0, 8], [4, 4]]  # the misreading "1 + index" would give [[0, 1], [2, 2]]
    np.testing.assert_array_equal(label_to_index(labels, [7, 3]), index)


def test_large_ids_use_uint16_and_round_trip(tmp_path):
    index = np.array([[-1, 0, 1]])
    labels = index_to_label(index, [2, 300])
    assert labels.dtype == np.uint16 and labels.tolist() == [[0, 3, 301]]
    path = RunLayout(tmp_path).label_file("cam00", 12)
    assert path.name == "000012.png"
    write_label_map(path, labels)
    read = read_label_map(path)
    assert read.dtype == np.uint16
    np.testing.assert_array_equal(read, labels)


def test_occluded_round_trip(tmp_path):
    mask = np.zeros((5, 6), bool)
    mask[1:3, 2:5] = True
    path = RunLayout(tmp_path).occluded_file("cam00", 4, 9)
    assert path.name == "000004_occluded_9.png"
    write_occluded(path, mask)
    np.testing.assert_array_equal(read_occluded(path), mask)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(SegmentationError, match="track ids >= 0"):
        index_to_label(np.zeros((2, 2), int), [-1])
    with pytest.raises(SegmentationError, match="uint8 or uint16"):
        write_label_map(tmp_path / "x.png", np.zeros((2, 2), np.int32))
    with pytest.raises(SegmentationError, match="readable PNG"):
        read_label_map(tmp_path / "missing.png")
