"""Surface sampling and exact point-to-triangle distances."""

import numpy as np
import pytest
import trimesh

from multihuman_eval import point_to_surface_distances
from render import Mesh, MeshError
from render.mesh import face_areas, sample_surface

UNIT_TRIANGLE = Mesh([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0, 1, 2]])


def test_sampling_is_seeded(make_sphere):
    sphere = make_sphere(1.0, subdivisions=2)
    first = sample_surface(sphere, 500, seed=3)
    np.testing.assert_array_equal(first, sample_surface(sphere, 500, seed=3))
    assert not np.allclose(first, sample_surface(sphere, 500, seed=4))
    assert first.shape == (500, 3)


def test_samples_lie_on_the_surface(make_sphere):
    sphere = make_sphere(1.0, subdivisions=3)
    points = sample_surface(sphere, 2000, seed=0)
    assert point_to_surface_distances(points, sphere).max() < 1e-6


def test_samples_are_uniform_inside_a_triangle():
    points = sample_surface(UNIT_TRIANGLE, 40_000, seed=0)
    assert np.all(points[:, :2] >= 0.0) and np.all(points[:, :2].sum(axis=1) <= 1.0 + 1e-12)
    # Uniform over the triangle: the mean is the centroid (1/3, 1/3); std of each coordinate is sqrt(1/18).
    np.testing.assert_allclose(points[:, :2].mean(axis=0), [1 / 3, 1 / 3], atol=4 * np.sqrt(1 / 18 / 40_000))
    # A quarter of the area lies within x + y <= 1/2.
    assert abs(np.mean(points[:, :2].sum(axis=1) <= 0.5) - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 40_000)


def test_faces_are_chosen_in_proportion_to_area():
    # Two triangles in the plane z = 0: areas 0.5 and 1.5, so 1/4 of the samples fall at x < 1.
    mesh = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0], [5, 0, 0], [2, 1, 0]], [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_allclose(face_areas(mesh), [0.5, 1.5])
    count = 20_000
    fraction = np.mean(sample_surface(mesh, count, seed=1)[:, 0] < 1.5)
    assert abs(fraction - 0.25) < 4 * np.sqrt(0.25 * 0.75 / count)


def test_sampling_rejects_bad_count_and_zero_area():
    with pytest.raises(ValueError, match="count: expected a positive integer, got 0"):
        sample_surface(UNIT_TRIANGLE, 0, seed=0)
    flat = Mesh([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 1, 2]])
    with pytest.raises(MeshError, match="positive surface area"):
        sample_surface(flat, 10, seed=0)


def test_a_mesh_without_faces_is_rejected_by_name():
    # render.Mesh allows F = 0 (an empty reconstruction); surfaces cannot be sampled or measured on it.
    empty = Mesh(UNIT_TRIANGLE.vertices, np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(MeshError, match=r"at least one face to sample, got Mesh\(3 vertices, 0 faces\)"):
        sample_surface(empty, 10, seed=0)
    with pytest.raises(MeshError, match="expected a mesh with at least one face to measure distances to"):
        point_to_surface_distances(np.zeros((2, 3)), empty)


def test_distances_are_to_triangles_not_vertices():
    points = np.array(
        [
            [0.25, 0.25, 0.3],  # above the interior: the height
            [0.5, -0.4, 0.0],  # beyond the edge y = 0: distance to that edge
            [-0.3, -0.4, 0.0],  # beyond the corner (0, 0, 0): distance to the corner
            [1.0, 1.0, 0.0],  # beyond the hypotenuse x + y = 1: distance to it
        ]
    )
    expected = [0.3, 0.4, 0.5, np.sqrt(0.5)]
    np.testing.assert_allclose(point_to_surface_distances(points, UNIT_TRIANGLE), expected, atol=1e-6)
    # What a vertex-to-vertex shortcut would have said for the first point (it is 0.3 away from the surface).
    assert np.linalg.norm(UNIT_TRIANGLE.vertices - points[0], axis=1).min() > 0.4


def test_distances_match_trimesh_reference(make_sphere):
    sphere = make_sphere(1.0, subdivisions=2)
    points = np.random.default_rng(0).normal(size=(300, 3))
    reference = trimesh.proximity.closest_point(trimesh.Trimesh(sphere.vertices, sphere.faces), points)[1]
    np.testing.assert_allclose(point_to_surface_distances(points, sphere), reference, atol=2e-6)


def test_distances_keep_precision_far_from_the_origin():
    far = np.array([5000.0, -3000.0, 2000.0])
    triangle = Mesh(UNIT_TRIANGLE.vertices + far, UNIT_TRIANGLE.faces)
    points = far + np.array([[0.25, 0.25, 1e-4], [0.25, 0.25, -2e-4]])
    # float32 around 5000 m would round to about 0.5 mm; shifting to the mesh centre first keeps 1e-4 m.
    np.testing.assert_allclose(point_to_surface_distances(points, triangle), [1e-4, 2e-4], atol=1e-7)


def test_distances_reject_bad_points_shape():
    with pytest.raises(ValueError, match=r"points: expected shape \(N, 3\), got \(4, 2\)"):
        point_to_surface_distances(np.zeros((4, 2)), UNIT_TRIANGLE)
