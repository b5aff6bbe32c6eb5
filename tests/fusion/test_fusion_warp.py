"""Skinning-based warping between frames (Eq. 7-9), both body backends through the body interface."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion import FusionError, WarpConfig, attach, warp_attached, warp_mesh
from fusion.warp import closest_triangles
from render.mesh import Mesh, vertex_normals


def surface_vertices(output, count: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """About ``count`` body vertices that belong to a face (the random SMPL-X test model has a few loose ones):
    (N', 3) float64 positions and their (N',) ids."""
    used = np.unique(output.faces.numpy())
    used = used[:: max(1, len(used) // count)]
    return output.vertices.double().numpy()[used], used


def test_body_surface_warps_onto_the_body_at_t(body, posed):
    """The body's own surface, warped from t' to t with its own parameters, is the body at t (< 1 mm)."""
    source, target = posed(body, seed=1), posed(body, seed=2)
    points, used = surface_vertices(source)
    moved = warp_mesh(body, Mesh(points, np.zeros((0, 3), np.int64)), source, target).vertices
    expected = target.vertices.double().numpy()[used]
    travel = np.linalg.norm(expected - points, axis=1)
    error = np.linalg.norm(moved - expected, axis=1)
    assert travel.mean() > 0.1  # the two poses differ a lot
    assert error.max() < 1e-3, error.max()


def test_pure_skinning_misses_the_body_where_it_bends(anny_body, posed):
    """Without follow_surface (plain Eq. 9 with blended weights) the same warp is off by more than 1 mm somewhere:
    the residual correction is what makes the test above pass."""
    source, target = posed(anny_body, seed=1), posed(anny_body, seed=2)
    points, used = surface_vertices(source)
    config = WarpConfig(follow_surface=False)
    moved = warp_attached(anny_body, attach(anny_body, points, source, config), source, target, config)
    error = np.linalg.norm(moved - target.vertices.double().numpy()[used], axis=1)
    assert np.median(error) < 1e-3 and error.max() > 3e-3


def test_offset_points_keep_their_distance_to_the_body(anny_body, posed):
    """Clothing-like points 2 cm outside the skin stay about 2 cm outside it after the warp."""
    source, target = posed(anny_body, seed=3), posed(anny_body, seed=4)
    vertices, faces = source.vertices.double().numpy(), source.faces.numpy()
    ids = np.arange(0, len(vertices), 37)
    points = vertices[ids] + 0.02 * vertex_normals(vertices, faces)[ids]
    moved = warp_attached(anny_body, attach(anny_body, points, source), source, target)
    target_vertices = target.vertices.double().numpy()
    expected = target_vertices[ids] + 0.02 * vertex_normals(target_vertices, faces)[ids]
    assert np.median(np.linalg.norm(moved - expected, axis=1)) < 2e-3


def test_warp_to_the_same_pose_is_the_identity(smplx_body, posed):
    source = posed(smplx_body, seed=5)
    points = np.random.default_rng(0).normal(0.0, 0.3, (50, 3)) + source.joints[0].double().numpy()
    moved = warp_attached(smplx_body, attach(smplx_body, points, source), source, source)
    np.testing.assert_allclose(moved, points, atol=1e-5)


def test_closest_triangles_barycentric_convention():
    vertices = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    points = np.array([[0.2, 0.3, 0.5], [2.0, -1.0, 0.0], [-1.0, -1.0, 0.0]])
    triangles, barycentric = closest_triangles(vertices, np.array([[0, 1, 2]]), points)
    closest = barycentric @ vertices
    np.testing.assert_allclose(closest, [[0.2, 0.3, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(barycentric.sum(1), 1.0, atol=1e-6)
    assert (triangles == 0).all()


def test_batched_bodies_are_a_clear_error(anny_body):
    batched = anny_body(anny_body.neutral_params((2,)))
    with pytest.raises(FusionError, match=r"one person in one frame, vertices \(N, 3\)"):
        attach(anny_body, np.zeros((4, 3)), batched)


def test_bad_points_shape_is_a_clear_error(anny_body):
    with torch.no_grad():
        source = anny_body(anny_body.neutral_params(()))
    with pytest.raises(FusionError, match=r"points: expected shape \(M, 3\), got \(4, 2\)"):
        attach(anny_body, np.zeros((4, 2)), source)
