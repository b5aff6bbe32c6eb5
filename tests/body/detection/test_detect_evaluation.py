"""PCK scoring and people matching (body.detection.evaluation) on hand-made keypoints."""

from __future__ import annotations

import math

import numpy as np

from body.detection.evaluation import match_people, normalised_errors, pck, reference_size
from body.detection.people import PersonKeypoints

JOINTS = 17  # coco17


def _person(points: np.ndarray, confidence: np.ndarray | None = None) -> PersonKeypoints:
    return PersonKeypoints(points, np.ones(JOINTS) if confidence is None else confidence, "coco17")


def _reference(x0: float) -> np.ndarray:
    """(17, 2) joints spread over a 100 x 200 px box starting at x0."""
    rng = np.random.default_rng(int(x0))
    points = rng.uniform(0, 1, (JOINTS, 2)) * [100.0, 200.0] + [x0, 50.0]
    points[0], points[1] = [x0, 50.0], [x0 + 100.0, 250.0]  # pin the box corners
    return points


def test_reference_size_is_the_longer_side_of_the_present_joints() -> None:
    points = _reference(0.0)
    present = np.ones(JOINTS, dtype=bool)
    assert reference_size(points, present) == 200.0
    far = points.copy()
    far[5] = [1000.0, 1000.0]
    present[5] = False  # an absent joint does not grow the box
    assert reference_size(far, present) == 200.0


def test_normalised_errors_marks_missed_and_unevaluated_joints() -> None:
    reference = _reference(0.0)
    shifted = reference + [6.0, 8.0]  # 10 px off = 0.05 of a 200 px box
    confidence = np.ones(JOINTS)
    confidence[3] = 0.0  # missed by the detector
    evaluated = np.ones(JOINTS, dtype=bool)
    evaluated[4] = False  # not a ground-truth visible joint
    errors = normalised_errors(_person(shifted, confidence), reference, evaluated, 200.0)
    assert math.isnan(errors[3]) and math.isinf(errors[4])
    others = np.delete(errors, [3, 4])
    assert np.allclose(others, 0.05)
    missing = normalised_errors(None, reference, evaluated, 200.0)
    assert np.isnan(np.delete(missing, 4)).all()


def test_pck_counts_misses_as_failures_and_ignores_unevaluated() -> None:
    errors = np.array([0.01, 0.04, 0.06, 0.2, np.nan, np.inf])
    assert pck(errors, 0.05) == 2 / 5
    assert pck(errors, 0.1) == 3 / 5
    assert pck(errors, 1.0) == 4 / 5
    assert math.isnan(pck(np.array([np.inf]), 0.1))


def test_match_people_assigns_by_keypoint_distance_one_to_one() -> None:
    left, right = _reference(0.0), _reference(300.0)
    references = [left, right]
    evaluated = [np.ones(JOINTS, dtype=bool)] * 2
    sizes = [200.0, 200.0]
    near_right, near_left = _person(right + 3.0), _person(left - 4.0)
    stranger = _person(_reference(2000.0))
    matches = match_people([stranger, near_right, near_left], references, evaluated, sizes)
    assert matches[0] is near_left and matches[1] is near_right
    # one detection between two people goes to one of them only; the far one matches nobody
    lone = match_people([near_left], references, evaluated, sizes)
    assert lone[0] is near_left and lone[1] is None
    assert match_people([stranger], references, evaluated, sizes) == [None, None]
    assert match_people([], references, evaluated, sizes) == [None, None]
