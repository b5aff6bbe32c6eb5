"""Tests of calibration.geometry: against OpenCV, on synthetic rigs, gradchecks, shape guards, conventions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from calibration.camera import Camera
from calibration.geometry import (
    CameraTensors,
    ShapeError,
    backproject_rays,
    distort_points,
    epipolar_distance,
    fundamental_matrix,
    project_points,
    project_points_with_depth,
    ray_distance,
    reprojection_error,
    triangulate_dlt,
    triangulate_robust,
    undistort_points,
)


def _tensors(cameras, points, dtype=torch.float64):
    return CameraTensors.from_cameras(cameras, dtype=dtype), torch.as_tensor(points, dtype=dtype)


def _cv2_project(camera: Camera, points: np.ndarray) -> np.ndarray:
    rvec, _ = cv2.Rodrigues(camera.R)
    uv, _ = cv2.projectPoints(points.reshape(-1, 1, 3), rvec, camera.t, camera.K, camera.dist)
    return uv.reshape(-1, 2)


# --- projection ------------------------------------------------------------------------------------------


def test_project_matches_cv2(make_ring_rig, make_scene_points):
    cameras = make_ring_rig(5, seed=1)
    cams, points = _tensors(cameras, make_scene_points(300, seed=1))
    uv, depth = project_points_with_depth(points, cams.K, cams.dist, cams.R, cams.t)
    assert uv.shape == (5, 300, 2) and depth.shape == (5, 300)
    assert bool((depth > 0).all())
    for v, camera in enumerate(cameras):
        np.testing.assert_allclose(uv[v].numpy(), _cv2_project(camera, points.numpy()), rtol=1e-6, atol=0)
        np.testing.assert_allclose(depth[v].numpy(), camera.world_to_camera(points.numpy())[:, 2], rtol=1e-12)


def test_project_shapes_broadcast_and_float32(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(4, seed=2), make_scene_points(10, seed=2))
    per_view = points.expand(4, 10, 3)
    assert torch.allclose(cams.project(per_view), cams.project(points))
    batched = cams.project(points.expand(3, 1, 10, 3))  # (B, 1, N, 3) with V cameras -> (B, V, N, 2)
    assert batched.shape == (3, 4, 10, 2)
    one = project_points(points, cams.K[1], cams.dist[1], cams.R[1], cams.t[1])  # unbatched camera
    assert torch.allclose(one, batched[2, 1])
    uv32 = cams.to(torch.float32).project(points.float())
    assert uv32.dtype == torch.float32
    assert (uv32.double() - batched[0]).abs().max() < 1e-2  # pixels, float32 rounding


def test_skewed_camera_matches_numpy_camera_and_roundtrips(make_ring_rig, make_scene_points):
    camera = make_ring_rig(1, seed=18)[0]
    skewed = camera.replace(K=camera.K + np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    cams, points = _tensors([skewed], make_scene_points(50, seed=18))
    uv = cams.project(points)[0]
    np.testing.assert_allclose(uv.numpy(), skewed.project(points.numpy()), rtol=1e-12)
    origins, directions = backproject_rays(uv, skewed)  # one Camera, unbatched
    assert ray_distance(origins, directions, points, directions).max() < 1e-9  # points lie on their rays


# --- distortion ------------------------------------------------------------------------------------------


def test_undistort_matches_cv2(make_ring_rig):
    rng = np.random.default_rng(3)
    for camera in make_ring_rig(4, seed=3):
        pixels = rng.uniform([0, 0], [camera.width, camera.height], size=(500, 2))
        K, dist, px = (torch.tensor(a) for a in (camera.K, camera.dist, pixels))
        expected = cv2.undistortPoints(pixels.reshape(-1, 1, 2), camera.K, camera.dist).reshape(-1, 2)
        got = undistort_points(px, K, dist, iterations=5, output="normalized")
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-6, rtol=0)
        expected_px = cv2.undistortPoints(pixels.reshape(-1, 1, 2), camera.K, camera.dist, P=camera.K).reshape(-1, 2)
        np.testing.assert_allclose(undistort_points(px, K, dist, iterations=5).numpy(), expected_px, atol=1e-6, rtol=0)
        criteria = (cv2.TERM_CRITERIA_COUNT, 20, 0.0)
        expected_20 = cv2.undistortPointsIter(pixels.reshape(-1, 1, 2), camera.K, camera.dist, None, None, criteria)
        np.testing.assert_allclose(
            undistort_points(px, K, dist, iterations=20, output="normalized").numpy(), expected_20.reshape(-1, 2),
            atol=1e-6, rtol=0,
        )


def test_undistort_guard_matches_cv2_for_strong_distortion():
    """Where the radial factor turns negative OpenCV falls back to the distorted point; so do we."""
    K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
    dist = np.array([-1.2, 0.0, 0.0, 0.0, 0.0])
    pixels = np.array([[320.0 + 50.0 * i, 240.0 + 30.0 * i] for i in range(12)])
    expected = cv2.undistortPoints(pixels.reshape(-1, 1, 2), K, dist).reshape(-1, 2)
    got = undistort_points(torch.as_tensor(pixels), torch.as_tensor(K), torch.as_tensor(dist), 5, "normalized")
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6, rtol=0)
    fell_back = np.isclose(expected, (pixels - K[:2, 2]) / 500.0).all(axis=1)
    assert fell_back.any() and not fell_back.all()  # the case exercises the guard


def test_distort_undistort_roundtrip(make_ring_rig):
    rng = np.random.default_rng(4)
    cams = CameraTensors.from_cameras(make_ring_rig(4, seed=4))
    pixels = torch.as_tensor(rng.uniform([0, 0], [1280, 960], size=(4, 400, 2)))
    undistorted = undistort_points(pixels, cams.K, cams.dist)
    assert (distort_points(undistorted, cams.K, cams.dist) - pixels).abs().max() < 1e-6
    assert (undistort_points(distort_points(pixels, cams.K, cams.dist), cams.K, cams.dist) - pixels).abs().max() < 1e-6
    assert (undistorted - pixels).abs().max() > 1.0  # the distortion is not negligible


# --- rays and triangulation ------------------------------------------------------------------------------


@pytest.mark.parametrize("n_views", [4, 8])
def test_triangulate_noiseless_recovers_points(make_ring_rig, make_scene_points, n_views):
    cams, points = _tensors(make_ring_rig(n_views, seed=n_views), make_scene_points(500, seed=5))
    pixels = cams.project(points)
    recovered = triangulate_dlt(pixels, cams)
    assert recovered.shape == (500, 3) and recovered.dtype == torch.float64
    assert (recovered - points).norm(dim=-1).max() < 1e-6
    weights = torch.rand(n_views, 500, dtype=torch.float64) + 0.1  # confidences do not move exact data
    assert (triangulate_dlt(pixels, cams, weights) - points).norm(dim=-1).max() < 1e-6


def test_triangulate_float32_and_camera_list(make_ring_rig, make_scene_points):
    cameras = make_ring_rig(6, seed=6)
    cams, points = _tensors(cameras, make_scene_points(100, seed=6))
    pixels = cams.project(points).float()
    recovered = triangulate_dlt(pixels, cameras)  # a list of Camera, float32 pixels
    assert recovered.dtype == torch.float32
    assert (recovered.double() - points).norm(dim=-1).max() < 1e-5  # computed in float64 from rounded pixels
    robust = triangulate_robust(pixels, cams.to(torch.float32))
    assert robust.points.dtype == robust.errors.dtype == torch.float32
    assert (robust.points.double() - points).norm(dim=-1).max() < 1e-5


def test_triangulate_zero_weight_views_and_too_few_views(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(5, seed=7), make_scene_points(20, seed=7))
    pixels = cams.project(points)
    weights = torch.ones(5, 20, dtype=torch.float64)
    pixels[0, :10] = float("nan")  # a missing detection ...
    weights[0, :10] = 0.0  # ... with weight 0 is not used
    pixels[1, 10:] += 300.0  # a wild view with weight 0 does not move the result
    weights[1, 10:] = 0.0
    weights[:4, 15:] = 0.0  # points 15.. seen by one view only
    recovered = triangulate_dlt(pixels, cams, weights)
    assert (recovered[:15] - points[:15]).norm(dim=-1).max() < 1e-6
    assert torch.isnan(recovered[15:]).all()
    pixels[4, :15] += 50.0  # a bad view with a tiny confidence barely moves the points ...
    weights[4, :15] = 1e-4
    assert (triangulate_dlt(pixels, cams, weights)[:15] - points[:15]).norm(dim=-1).max() < 1e-4
    weights[4, :15] = 1.0  # ... while with full confidence it does
    assert (triangulate_dlt(pixels, cams, weights)[:15] - points[:15]).norm(dim=-1).min() > 1e-3


def test_backproject_rays_pass_through_points(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(3, seed=8), make_scene_points(50, seed=8))
    pixels, depth = project_points_with_depth(points, cams.K, cams.dist, cams.R, cams.t)
    origins, directions = backproject_rays(pixels, cams)
    assert origins.shape == directions.shape == (3, 50, 3)
    assert torch.allclose(directions.norm(dim=-1), torch.ones(3, 50, dtype=torch.float64))
    assert torch.allclose(origins[:, 0], cams.centers)
    distance_along = ((points - origins) * directions).sum(-1)
    assert (origins + distance_along[..., None] * directions - points).norm(dim=-1).max() < 1e-9
    assert (distance_along > depth - 1e-9).all()  # the ray length is at least the depth (z)


def test_reprojection_error_measures_pixel_offsets(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(3, seed=9), make_scene_points(30, seed=9))
    pixels = cams.project(points)
    pixels[1] += torch.tensor([3.0, 4.0], dtype=torch.float64)
    error = reprojection_error(points, pixels, cams)
    assert error.shape == (3, 30)
    assert torch.allclose(error[1], torch.full((30,), 5.0, dtype=torch.float64))
    assert error[[0, 2]].max() < 1e-9


def test_robust_triangulation_rejects_a_corrupted_view(make_ring_rig, make_scene_points):
    generator = torch.Generator().manual_seed(10)
    cams, points = _tensors(make_ring_rig(6, seed=10), make_scene_points(200, seed=10))
    pixels = cams.project(points) + 2.0 * torch.randn(6, 200, 2, generator=generator, dtype=torch.float64)
    pixels[2] += 80.0  # every point of one camera is off by (80, 80) px
    plain_error = (triangulate_dlt(pixels, cams) - points).norm(dim=-1).mean()
    result = triangulate_robust(pixels, cams, threshold_px=10.0)
    robust_error = (result.points - points).norm(dim=-1).mean()
    assert robust_error < 0.01, f"robust mean error {robust_error:.4f} m"
    without_view_2 = torch.ones(6, 200, dtype=torch.float64).index_fill_(0, torch.tensor([2]), 0.0)
    oracle_error = (triangulate_dlt(pixels, cams, without_view_2) - points).norm(dim=-1).mean()
    assert robust_error <= 1.001 * oracle_error  # as good as knowing the bad view
    assert plain_error > 0.01, f"plain DLT mean error {plain_error:.4f} m"
    assert result.inliers.shape == result.errors.shape == (6, 200)
    assert result.inliers[2].float().mean() < 0.05  # the corrupted view is dropped ...
    assert result.inliers[[0, 1, 3, 4, 5]].float().mean() > 0.95  # ... the others kept
    assert result.errors[2].median() > 50.0  # and its error is reported
    # With a tight threshold the best pair's midpoint misses some good views; refits on the inliers win them back.
    good = [0, 1, 3, 4, 5]
    tight = [triangulate_robust(pixels, cams, threshold_px=5.0, refits=n).inliers[good].sum() for n in (0, 2)]
    assert tight[1] > tight[0]


def test_robust_triangulation_weights_and_min_views(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(4, seed=11), make_scene_points(10, seed=11))
    pixels = cams.project(points)
    weights = torch.ones(4, 10, dtype=torch.float64)
    weights[:2, 5:] = 0.0  # points 5.. seen by two views only
    result = triangulate_robust(pixels, cams, weights, min_views=3)
    assert (result.points[:5] - points[:5]).norm(dim=-1).max() < 1e-6
    assert torch.isnan(result.points[5:]).all() and not result.inliers[:, 5:].any()
    assert torch.isnan(result.errors[:2, 5:]).all()


# --- two-view geometry -----------------------------------------------------------------------------------


def test_fundamental_matrix_and_epipolar_distance(make_ring_rig, make_scene_points):
    cameras = make_ring_rig(4, seed=12)
    cams, points = _tensors(cameras, make_scene_points(100, seed=12))
    undistorted = undistort_points(cams.project(points), cams.K, cams.dist)  # (V, N, 2)
    F = fundamental_matrix(cams[:, None], cams[None])  # all pairs
    assert F.shape == (4, 4, 3, 3)
    assert torch.allclose(F[0, 2], fundamental_matrix(cameras[0], cameras[2]))
    homogeneous = torch.cat([undistorted, torch.ones(4, 100, 1, dtype=torch.float64)], dim=-1)
    algebraic = torch.einsum("ni,ij,nj->n", homogeneous[2], F[0, 2], homogeneous[0])
    scale = F[0, 2].norm() * homogeneous[2].norm(dim=-1) * homogeneous[0].norm(dim=-1)
    assert (algebraic.abs() / scale).max() < 1e-12  # x_b^T F x_a = 0
    assert torch.linalg.matrix_rank(F[0, 2]) == 2
    true = epipolar_distance(undistorted[0], undistorted[2], F[0, 2])
    assert true.shape == (100,) and true.max() < 1e-6
    wrong = epipolar_distance(undistorted[0], undistorted[2].roll(1, dims=0), F[0, 2])
    assert wrong.median() > 10.0
    pairwise = epipolar_distance(undistorted[0][:, None], undistorted[2][None], F[0, 2])  # (N, N)
    assert torch.allclose(pairwise.diagonal(), true)


def test_epipolar_distance_is_the_mean_of_both_point_to_line_distances():
    """Rectified pair (baseline along x, so epipolar lines are image rows) where view b has twice the focal length.

    x_b 3 px below its epipolar line is 3 px off in b and 1.5 px off in a (the same offset at half the scale).
    """
    eye = np.eye(3)
    K_a = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
    cam_a = Camera("a", 640, 480, K_a, np.zeros(5), eye, np.zeros(3))
    cam_b = Camera("b", 640, 480, K_a * [[2.0], [2.0], [1.0]], np.zeros(5), eye, np.array([-0.5, 0.0, 0.0]))
    point = np.array([[0.2, 0.1, 3.0]])
    pixels_a, pixels_b = (torch.as_tensor(c.project(point)[0]) for c in (cam_a, cam_b))
    F = fundamental_matrix(cam_a, cam_b)
    assert epipolar_distance(pixels_a, pixels_b, F) < 1e-9
    off = epipolar_distance(pixels_a, pixels_b + torch.tensor([7.0, 3.0], dtype=torch.float64), F)
    assert torch.isclose(off, torch.tensor(0.5 * (3.0 + 1.5), dtype=torch.float64))  # along the row costs nothing


def test_ray_distance(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(2, seed=13), make_scene_points(40, seed=13))
    origins, directions = backproject_rays(cams.project(points), cams)
    assert ray_distance(origins[0], directions[0], origins[1], directions[1]).max() < 1e-9
    wrong = ray_distance(origins[0], directions[0], origins[1], directions[1].roll(1, dims=0))
    assert wrong.median() > 0.05
    zero, x, y, z = torch.zeros(3), torch.tensor([1.0, 0, 0]), torch.tensor([0, 1.0, 0]), torch.tensor([0, 0, 1.0])
    assert torch.isclose(ray_distance(zero, x, z, 2 * y), torch.tensor(1.0))  # skew lines, 1 m apart in z
    assert torch.isclose(ray_distance(zero, x, 3 * y, -x), torch.tensor(3.0))  # parallel lines


# --- gradients -------------------------------------------------------------------------------------------


def test_gradcheck_project_points(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(2, seed=14), make_scene_points(4, seed=14))
    points.requires_grad_(True)
    R, t = cams.R.clone().requires_grad_(True), cams.t.clone().requires_grad_(True)
    K, dist = cams.K.clone().requires_grad_(True), cams.dist.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p, r, tt: project_points(p, cams.K, cams.dist, r, tt), (points, R, t))
    assert torch.autograd.gradcheck(lambda k, d: project_points(points.detach(), k, d, cams.R, cams.t), (K, dist))


def test_gradcheck_triangulate_dlt(make_ring_rig, make_scene_points):
    generator = torch.Generator().manual_seed(15)
    cams, points = _tensors(make_ring_rig(3, seed=15), make_scene_points(4, seed=15))
    pixels = cams.project(points) + torch.randn(3, 4, 2, generator=generator, dtype=torch.float64)
    pixels.requires_grad_(True)
    weights = torch.rand(3, 4, generator=generator, dtype=torch.float64).add(0.5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda px, w: triangulate_dlt(px, cams, w), (pixels, weights))


def test_too_few_views_give_finite_gradients(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(3, seed=16), make_scene_points(4, seed=16))
    pixels = cams.project(points).requires_grad_(True)
    weights = torch.ones(3, 4, dtype=torch.float64)
    weights[1:, 0] = 0.0  # point 0 is NaN
    recovered = triangulate_dlt(pixels, cams, weights)
    recovered[1:].sum().backward()
    assert torch.isnan(recovered[0]).all() and torch.isfinite(pixels.grad).all()


# --- shape guards ----------------------------------------------------------------------------------------


def test_shape_guard_messages(make_ring_rig, make_scene_points):
    cams, points = _tensors(make_ring_rig(4, seed=17), make_scene_points(10, seed=17))
    with pytest.raises(ShapeError,
                       match=r"project_points: argument 'points_world' expected shape \(\*, N, 3\), got \(10, 2\)"):
        project_points(points[:, :2], cams.K, cams.dist, cams.R, cams.t)
    with pytest.raises(ShapeError, match=r"project_points: argument 'dist' expected shape \(\*, 5\), got \(4, 4\)"):
        project_points(points, cams.K, cams.dist[:, :4], cams.R, cams.t)
    with pytest.raises(ShapeError, match=r"leading \(batch\) dims do not broadcast: 'points_world' \(3\), 'K' \(4\)"):
        project_points(points.expand(3, 10, 3), cams.K, cams.dist, cams.R, cams.t)
    pixels = cams.project(points)
    with pytest.raises(ShapeError, match=r"triangulate_dlt: argument 'weights' expected shape \(V, J\) with V = 4 "
                                         r"\(from 'pixels'\), got \(3, 10\)"):
        triangulate_dlt(pixels, cams, torch.ones(3, 10, dtype=torch.float64))
    with pytest.raises(ShapeError, match=r"triangulate_dlt: argument 'cameras.t' expected shape \(V, 3\) with V = 4"):
        triangulate_dlt(pixels, cams[:3])
    with pytest.raises(ShapeError, match=r"triangulate_robust: argument 'pixels' expected a torch.Tensor, got ndarray"):
        triangulate_robust(pixels.numpy(), cams)
    with pytest.raises(ShapeError, match=r"reprojection_error: argument 'pixels' expected shape \(V, J, 2\) with J = 5 "
                                         r"\(from 'points'\), got \(4, 10, 2\)"):
        reprojection_error(points[:5], pixels, cams)
    with pytest.raises(ValueError, match=r"argument 'weights' expected finite values >= 0"):
        triangulate_dlt(pixels, cams, -torch.ones(4, 10, dtype=torch.float64))


# --- conventions -----------------------------------------------------------------------------------------


def test_convention_optical_axis_and_image_axes():
    K = torch.tensor([[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    dist = torch.tensor([-0.2, 0.05, 0.0, 0.0, 0.0], dtype=torch.float64)  # radial: keeps the axes' images
    R, t = torch.eye(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    world = torch.tensor([[0.0, 0.0, 2.0], [0.3, 0.0, 2.0], [0.0, 0.3, 2.0]], dtype=torch.float64)
    uv = project_points(world, K, dist, R, t)
    assert torch.allclose(uv[0], K[:2, 2])  # on the +z axis: the principal point, distortion or not
    assert uv[1, 0] > 320.0 and abs(uv[1, 1] - 240.0) < 1e-6  # +x world (= camera x) is right of cx
    assert uv[2, 1] > 240.0  # +y is down in the image


def test_convention_t_is_world_to_camera_not_the_centre():
    """A camera at C = (0, 0, -2) with R = I has t = -R C = (0, 0, 2): the world origin is 2 m in front of it.

    Reading t as the camera centre would put the origin 2 m behind the camera (negative depth).
    """
    K = torch.tensor([[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    R, t = torch.eye(3, dtype=torch.float64), torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64)
    origin = torch.zeros(1, 3, dtype=torch.float64)
    uv, depth = project_points_with_depth(origin, K, torch.zeros(5, dtype=torch.float64), R, t)
    assert torch.allclose(uv[0], K[:2, 2]) and torch.isclose(depth[0], torch.tensor(2.0, dtype=torch.float64))
    cams = CameraTensors(K, torch.zeros(5, dtype=torch.float64), R, t)
    assert torch.allclose(cams.centers, torch.tensor([0.0, 0.0, -2.0], dtype=torch.float64))
    misread_depth = (origin - t) @ R.T  # treating t as the centre
    assert misread_depth[0, 2] < 0
