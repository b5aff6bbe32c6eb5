"""Truncated signed distance on a grid: accuracy on a sphere, the narrow band, robustness of the sign to holes."""

from __future__ import annotations

import numpy as np
import pytest

from fusion import FusionError, truncated_sdf
from implicit.grid import VoxelGrid
from render.mesh import Mesh
from render.primitives import icosphere

RADIUS = 0.2


@pytest.fixture(scope="module")
def sphere() -> Mesh:
    return icosphere(RADIUS, center=(0.1, -0.2, 1.0), subdivisions=5)


@pytest.fixture(scope="module")
def grid() -> VoxelGrid:
    return VoxelGrid.for_points(np.array([[0.1, -0.2, 1.0]]), margin_m=0.3, voxel_size=0.012)


def analytic(grid: VoxelGrid, truncation: float) -> np.ndarray:
    distance = np.linalg.norm(grid.points() - [0.1, -0.2, 1.0], axis=1) - RADIUS
    return np.clip(distance, -truncation, truncation).reshape(grid.shape)


def test_sphere_matches_the_analytic_distance(sphere, grid):
    sdf = truncated_sdf(sphere, grid, truncation_m=0.05)
    assert sdf.shape == grid.shape and sdf.dtype == np.float32
    # 20480 faces: the facets lie within 0.1 mm of the sphere
    np.testing.assert_allclose(sdf, analytic(grid, 0.05), atol=3e-4)
    assert sdf.min() == pytest.approx(-0.05) and sdf.max() == pytest.approx(0.05)


def test_narrow_band_changes_nothing(sphere):
    """Skipping the exact distance far from the surface gives the same volume as measuring every sample."""
    grid = VoxelGrid.for_points(np.array([[0.1, -0.2, 1.0]]), margin_m=0.3, voxel_size=0.02)
    banded = truncated_sdf(sphere, grid, truncation_m=0.03, coarse_step=4)
    dense = truncated_sdf(sphere, grid, truncation_m=0.03, coarse_step=1)
    np.testing.assert_array_equal(banded, dense)


def test_sign_survives_small_holes(sphere, grid):
    """Removing a few faces (a 2 cm hole) does not turn the inside into outside: the vote of 5 rays decides."""
    centers = sphere.vertices[sphere.faces].mean(1)
    top = np.array([0.1, -0.2, 1.0 + RADIUS])
    keep = np.linalg.norm(centers - top, axis=1) > 0.01
    holed = Mesh(sphere.vertices, sphere.faces[keep])
    assert (~keep).sum() >= 5
    expected = analytic(grid, 0.05)
    sdf = truncated_sdf(holed, grid, truncation_m=0.05, sign_rays=5)
    far_from_hole = np.linalg.norm(grid.points() - top, axis=1).reshape(grid.shape) > 0.03
    wrong = np.sign(sdf) != np.sign(expected)
    assert wrong[far_from_hole].mean() < 1e-3, wrong[far_from_hole].mean()


def test_bad_arguments_are_clear_errors(sphere, grid):
    with pytest.raises(FusionError, match="sign_rays: expected an odd number"):
        truncated_sdf(sphere, grid, truncation_m=0.05, sign_rays=4)
    with pytest.raises(FusionError, match="truncation_m: expected > 0"):
        truncated_sdf(sphere, grid, truncation_m=0.0)
    with pytest.raises(FusionError, match="expected a mesh with faces"):
        truncated_sdf(Mesh(np.zeros((3, 3)), np.zeros((0, 3), np.int64)), grid, truncation_m=0.05)
