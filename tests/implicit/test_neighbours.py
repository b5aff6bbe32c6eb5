"""The rule that keeps a person's occupancy off the people beside them (implicit.neighbours)."""

from __future__ import annotations

import numpy as np
import pytest

from implicit.neighbours import SignedDistance, claimed_by_neighbours, exclude_neighbours
from render import primitives

OWN = primitives.icosphere(0.3, center=(0.0, 0.0, 0.0), subdivisions=4)
NEIGHBOUR = primitives.icosphere(0.3, center=(0.62, 0.0, 0.0), subdivisions=4)  # 2 cm gap between the two


def test_signed_distance_is_negative_inside_and_metric():
    points = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.35]])
    np.testing.assert_allclose(SignedDistance(OWN)(points), [-0.3, 0.2, 0.05], atol=2e-3)


def test_points_nearer_the_neighbour_by_more_than_the_margin_are_claimed():
    x = np.array([0.1, 0.30, 0.32, 0.335, 0.45, 0.62])
    points = np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=1)
    # signed distances to OWN: x - 0.3; to NEIGHBOUR: 0.32 - x; claimed where 0.32 - x < x - 0.33, i.e. x > 0.325
    claimed = claimed_by_neighbours(points, SignedDistance(OWN), [SignedDistance(NEIGHBOUR)], margin_m=0.03)
    np.testing.assert_array_equal(claimed, [False, False, False, True, True, True])


def test_gated_occupancy_is_zero_in_the_neighbour_and_untouched_elsewhere():
    asked = []

    def everywhere_inside(points: np.ndarray) -> np.ndarray:
        asked.append(len(points))
        return np.full(len(points), 0.9, np.float32)

    points = np.array([[0.0, 0.0, 0.0], [0.25, 0.0, 0.0], [0.62, 0.0, 0.0], [0.62, 0.0, 0.2]])
    values = exclude_neighbours(everywhere_inside, OWN, [NEIGHBOUR], margin_m=0.03)(points)
    np.testing.assert_allclose(values, [0.9, 0.9, 0.0, 0.0])
    assert asked == [2]  # the claimed points never reach the network


def test_without_neighbours_the_occupancy_function_is_returned_unchanged():
    def fn(points: np.ndarray) -> np.ndarray:
        return np.ones(len(points), np.float32)

    assert exclude_neighbours(fn, OWN, []) is fn


def test_a_negative_margin_is_refused_by_name():
    with pytest.raises(ValueError, match="margin_m"):
        exclude_neighbours(lambda p: p[:, 0], OWN, [NEIGHBOUR], margin_m=-0.01)
