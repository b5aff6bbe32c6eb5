"""Camera: validation messages, derived quantities and the projection convention."""

import math

import cv2
import numpy as np
import pytest

from calibration.camera import Camera, look_at_rotation
from calibration.errors import RigError

K = [[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]]


def make_camera(**changes) -> Camera:
    values = dict(name="cam", width=640, height=480, K=K, dist=[0.0] * 5, R=np.eye(3), t=[0.0, 0.0, 0.0])
    values.update(changes)
    return Camera(**values)


def test_convention_point_on_optical_axis_projects_to_principal_point():
    camera = make_camera()
    assert np.allclose(camera.project(np.array([0.0, 0.0, 2.0])), [320.0, 240.0])


def test_convention_plus_x_is_right_and_plus_y_is_down():
    camera = make_camera()
    u, v = camera.project(np.array([0.1, 0.2, 1.0]))
    assert u == pytest.approx(320.0 + 50.0)  # x right
    assert v == pytest.approx(240.0 + 102.0)  # y down
    # The misreading world = camera^-1 (R transposed) would move the point elsewhere for a rotated camera:
    R = cv2.Rodrigues(np.array([0.0, 0.3, 0.0]))[0]
    rotated = make_camera(R=R)
    point = np.array([0.0, 0.0, 2.0])
    assert np.allclose(rotated.world_to_camera(point), R @ point)
    assert not np.allclose(rotated.world_to_camera(point), R.T @ point)


def test_center_projection_matrix_and_fov():
    R = cv2.Rodrigues(np.array([0.1, -0.4, 0.2]))[0]
    C = np.array([1.0, -2.0, 1.5])
    camera = make_camera(R=R, t=-R @ C)
    assert np.allclose(camera.center, C)
    point = np.array([0.3, 0.1, 4.0])
    homogeneous = camera.projection_matrix @ np.append(point, 1.0)
    assert np.allclose(homogeneous[:2] / homogeneous[2], camera.project(point))
    fov_h, fov_v = camera.fov_deg
    assert fov_h == pytest.approx(math.degrees(2 * math.atan(320 / 500)))
    assert fov_v == pytest.approx(math.degrees(2 * math.atan(240 / 510)))


def test_project_matches_opencv_with_distortion():
    rng = np.random.default_rng(0)
    dist = np.array([-0.2, 0.05, 0.001, -0.002, 0.01])
    R = cv2.Rodrigues(rng.normal(size=3) * 0.2)[0]
    camera = make_camera(dist=dist, R=R, t=[0.1, -0.2, 3.0])
    points = rng.uniform(-0.8, 0.8, size=(50, 3))
    expected = cv2.projectPoints(points, cv2.Rodrigues(R)[0], camera.t, camera.K, dist)[0][:, 0]
    assert np.allclose(camera.project(points), expected, rtol=1e-9, atol=1e-9)


def test_look_at_rotation_points_the_optical_axis_at_the_target():
    center, target = np.array([3.0, 1.0, 2.0]), np.array([0.0, 0.0, 1.0])
    R = look_at_rotation(center, target)
    camera = make_camera(R=R, t=-R @ center)
    assert np.allclose(camera.project(target), [320.0, 240.0])
    # world up (+z) appears as image up (smaller v)
    assert camera.project(target + [0, 0, 0.1])[1] < 240.0


def test_four_distortion_coefficients_are_padded():
    camera = make_camera(dist=[0.1, 0.01, 0.0, 0.0])
    assert camera.dist.shape == (5,) and camera.dist[4] == 0.0


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (dict(K=[[500.0, 0.0], [0.0, 500.0]]), "K", r"expected shape \(3, 3\), got shape \(2, 2\)"),
        (dict(K=[[-500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]]), "K", "expected positive focal lengths"),
        (dict(K=[[float("nan"), 0, 320], [0, 500.0, 240], [0, 0, 1]]), "K", "NaN"),
        (dict(R=np.diag([1.0, 1.0, -1.0])), "R", r"det = -1"),
        (dict(R=np.eye(3) * 1.01), "R", "expected a rotation matrix"),
        (dict(R=np.eye(3) + 2e-6), "R", "expected a rotation matrix"),
        (dict(t=[0.0, 1.0]), "t", r"expected shape \(3,\)"),
        (dict(dist=[0.1, 0.2]), "dist", r"expected shape \(5,\)"),
        (dict(width=0), "width", "expected a positive integer"),
        (dict(height=-3), "height", "expected a positive integer"),
    ],
)
def test_bad_values_name_camera_and_field(changes, field, message):
    with pytest.raises(RigError, match=message) as info:
        make_camera(**changes)
    assert info.value.camera == "cam" and info.value.field == field
    assert f"camera 'cam': field '{field}'" in str(info.value)


def test_rotation_within_tolerance_is_accepted():
    R = cv2.Rodrigues(np.array([0.3, 0.2, 0.1]))[0]
    make_camera(R=R + 1e-9)


def test_a_resized_camera_sees_every_point_at_the_same_place_of_the_picture():
    camera = make_camera(dist=np.array([-0.1, 0.02, 0.001, -0.002, 0.0]))
    points = np.random.default_rng(0).uniform([-0.5, -0.5, 2.0], [0.5, 0.5, 4.0], (50, 3))
    half = camera.resized(camera.width // 2, camera.height // 3)
    assert (half.width, half.height) == (camera.width // 2, camera.height // 3)
    full, small = camera.project(points), half.project(points)
    # pixel centres at integer coordinates: u' = s (u + 0.5) - 0.5 per axis
    scale = np.array([half.width / camera.width, half.height / camera.height])
    np.testing.assert_allclose(small, scale * (full + 0.5) - 0.5, atol=1e-9)
