"""PCP (Shelf/Campus percentage of correct parts) of multihuman_eval.body_capture on hand-made skeletons."""

from __future__ import annotations

import numpy as np

from body.keypoint_layouts import get_layout
from multihuman_eval.body_capture import PCP_LIMBS, correct_limbs, limb_indices, pcp_scores

NAMES = list(get_layout("body25").keypoints)


def _skeleton(rng) -> np.ndarray:
    return rng.normal(0.0, 0.4, (len(NAMES), 3))


def test_every_limb_is_found_in_body25():
    limbs = limb_indices("body25")
    assert len(limbs) == len(PCP_LIMBS) == 10
    assert NAMES[limbs[0, 0]] == "left_shoulder" and NAMES[limbs[0, 1]] == "left_elbow"


def test_limb_correct_up_to_half_its_length():
    truth = np.zeros((2, 3))
    truth[1, 0] = 0.4  # a 40 cm limb
    limbs = np.array([[0, 1]])
    known = np.ones(2, dtype=bool)
    for shift, expected in ((0.19, True), (0.21, False)):  # both ends moved: mean error = shift
        predicted = truth + np.array([0.0, shift, 0.0])
        assert correct_limbs(predicted, known, truth, limbs)[0] == expected
    one_end = truth.copy()
    one_end[1, 1] = 0.39  # mean error 0.195 <= 0.2
    assert correct_limbs(one_end, known, truth, limbs)[0]
    assert not correct_limbs(truth, np.array([True, False]), truth, limbs)[0], "an end not predicted is wrong"


def test_pcp_per_person_counts_missing_frames_as_wrong():
    rng = np.random.default_rng(0)
    truth = np.stack([_skeleton(rng) for _ in range(2)])
    limbs = limb_indices("body25")
    correct = np.zeros((2, 4, len(limbs)), dtype=bool)
    correct[0] = correct_limbs(truth[0], np.ones(len(NAMES), bool), truth[0], limbs)  # person 0 perfect
    correct[1, :2] = True  # person 1 found in 2 of its 3 present frames
    present = np.array([[True] * 4, [True, True, True, False]])
    mean, per_person = pcp_scores(correct, present)
    np.testing.assert_allclose(per_person, [100.0, 200.0 / 3.0])
    assert np.isclose(mean, (100.0 + 200.0 / 3.0) / 2)
