"""Full frame + tiles + crops around given boxes, duplicates merged by OKS (a fake detector; no mediapipe)."""

from __future__ import annotations

import numpy as np
import pytest
from detect_helpers import BlobDetector, blob_image

from body.detection.errors import DetectionError
from body.detection.multiperson import (
    CropPassConfig,
    crop_window,
    detect_people,
    keypoint_similarity,
    merge_duplicates,
    tile_windows,
)
from body.detection.people import PersonKeypoints

BIG = (50, 40, 129, 279)  # 240 px tall in a 300 px image: found on the full frame
SMALL = (300, 200, 319, 259)  # 60 px tall: missed on the full frame (< 30 % of the height), found in a crop


def _expected(detector: BlobDetector, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([x0, y0]) + detector.pattern * np.array([x1 - x0, y1 - y0])


def test_full_frame_misses_the_small_person_and_the_crop_pass_finds_it_in_image_pixels():
    detector = BlobDetector()
    image = blob_image([BIG, SMALL])
    assert len(detect_people(detector, image)) == 1
    people = detect_people(detector, image, boxes=np.array([[296, 195, 323, 264]]))
    assert len(people) == 2
    small = min(people, key=lambda p: p.box_size)
    np.testing.assert_allclose(small.keypoints, _expected(detector, SMALL), atol=1e-9)
    np.testing.assert_allclose(small.bbox, SMALL)


def test_a_box_around_an_already_found_person_gives_no_duplicate():
    detector = BlobDetector()
    image = blob_image([BIG, SMALL])
    people = detect_people(detector, image, boxes=np.array([BIG, SMALL], dtype=float))
    assert len(people) == 2
    big = max(people, key=lambda p: p.box_size)
    np.testing.assert_allclose(big.keypoints, _expected(detector, BIG), atol=1e-9)


def test_tiles_find_the_small_person_without_boxes():
    detector = BlobDetector()
    image = blob_image([BIG, SMALL])
    people = detect_people(detector, image, config=CropPassConfig(tile_size=150))
    assert len(people) == 2  # the small person (60 px) is >= 30 % of a 150 px tile; the big one is not duplicated
    assert len(detector.calls) == 1 + len(tile_windows((400, 300), 150))


def test_tile_windows_cover_the_image_with_half_tile_overlap():
    windows = tile_windows((1080, 1920), 720)
    covered = np.zeros((1920, 1080), dtype=bool)
    for x0, y0, x1, y1 in windows:
        assert (x1 - x0, y1 - y0) == (720, 720)
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    ys = sorted({y0 for _, y0, _, _ in windows})
    assert max(np.diff(ys)) <= 360
    assert tile_windows((512, 512), 512) == [] and tile_windows((512, 512), 0) == []


def test_crop_window_enlarges_and_clips():
    config = CropPassConfig(margin=0.25, min_crop_size=10)
    x0, y0, x1, y1 = crop_window(np.array([100.0, 100.0, 200.0, 300.0]), (1000, 1000), config)
    assert (x0, y0) == (75, 50) and 225 <= x1 <= 227 and 350 <= y1 <= 352
    assert crop_window(np.array([0.0, 0.0, 50.0, 50.0]), (40, 40), config) == (0, 0, 40, 40)


def test_bad_boxes_are_rejected():
    with pytest.raises(DetectionError, match="x1 > x0"):
        detect_people(BlobDetector(), blob_image([BIG]), boxes=np.array([[10.0, 10.0, 5.0, 20.0]]))


def _person(keypoints: np.ndarray, score: float) -> PersonKeypoints:
    return PersonKeypoints(keypoints, np.full(len(keypoints), 0.9), "coco17", score=score)


def test_keypoint_similarity_is_one_for_identical_small_for_distant_people():
    keypoints = np.random.default_rng(0).uniform(0, 100, size=(17, 2))
    assert keypoint_similarity(_person(keypoints, 0.9), _person(keypoints, 0.5)) == pytest.approx(1.0)
    assert keypoint_similarity(_person(keypoints, 0.9), _person(keypoints + 500, 0.5)) < 1e-6
    shifted = keypoint_similarity(_person(keypoints, 0.9), _person(keypoints + 3, 0.5))
    assert 0.5 < shifted < 1.0
    with pytest.raises(DetectionError, match="same layout"):
        keypoint_similarity(_person(keypoints, 0.9), _person(keypoints, 0.9).to_layout("body25"))


def test_merge_duplicates_keeps_the_higher_score():
    keypoints = np.random.default_rng(1).uniform(0, 100, size=(17, 2))
    people = [_person(keypoints + 1, 0.6), _person(keypoints, 0.8), _person(keypoints + 400, 0.7)]
    kept = merge_duplicates(people)
    assert [p.score for p in kept] == [0.8, 0.7]


def test_merge_duplicates_drops_a_mirrored_copy_and_a_mixture_of_kept_people_but_keeps_a_neighbour():
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 100, size=(17, 2))
    b = a + [150.0, 0.0]  # a neighbour 150 px to the right
    twin = np.array([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15])  # COCO-17 left <-> right
    mixture = np.where((np.arange(17) < 6)[:, None], a, b)  # 6 joints of a, 6 of b, 5 missing: OKS 0.5 with each
    confidence = np.where(np.arange(17) < 12, 0.9, 0.0)
    mixed = PersonKeypoints(mixture, confidence, "coco17", score=0.6)
    people = [_person(a, 0.9), _person(b, 0.8), _person(a[twin], 0.7), mixed]
    assert [p.score for p in merge_duplicates(people)] == [0.9, 0.8]
    assert [p.score for p in merge_duplicates(people, CropPassConfig(explained_fraction=1.01))] == [0.9, 0.8, 0.6]


def test_merge_duplicates_keeps_the_people_given_first_whatever_their_score():
    keypoints = np.random.default_rng(3).uniform(0, 100, size=(17, 2))
    found_again = _person(keypoints, 0.5)  # e.g. re-detected where the rig says someone is
    kept = merge_duplicates([_person(keypoints + 1, 0.9), _person(keypoints + 400, 0.7)], first=[found_again])
    assert [p.score for p in kept] == [0.5, 0.7]
