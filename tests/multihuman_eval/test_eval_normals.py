"""Normal consistency of normal-map stacks, and the normal maps drawn by the project's rasterizer."""

import numpy as np
import pytest

from calibration.camera import Camera, look_at_rotation
from multihuman_eval import evaluate_normals, normal_consistency, render_normal_maps
from render import Mesh, RenderError


def camera_looking_at(center, target=(0.0, 0.0, 0.0), size=64, focal=80.0, dist=(0, 0, 0, 0, 0), name="cam"):
    R = look_at_rotation(np.asarray(center, float), np.asarray(target, float))
    K = np.array([[focal, 0.0, (size - 1) / 2.0], [0.0, focal, (size - 1) / 2.0], [0.0, 0.0, 1.0]])
    return Camera(name, size, size, K, np.asarray(dist, float), R, -R @ np.asarray(center, float))


def rotation_about_x(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def test_identical_maps_agree_perfectly():
    normals = np.random.default_rng(0).normal(size=(2, 4, 5, 3))
    masks = np.ones((2, 4, 5), dtype=bool)
    result = normal_consistency(normals, masks, normals, masks)
    assert result.mean_cosine == pytest.approx(1.0)
    assert result.mean_angle_deg == pytest.approx(0.0, abs=1e-5)
    assert result.pixels_compared == 40


def test_only_pixels_both_masks_cover_count():
    rng = np.random.default_rng(1)
    angles = rng.uniform(0.0, 2.0 * np.pi, size=(3, 6, 6))
    gt = np.stack([np.zeros_like(angles), np.cos(angles), np.sin(angles)], axis=-1)  # unit, perpendicular to x
    rec = 2.5 * gt @ rotation_about_x(30.0).T  # every normal turned by 30 degrees about x, and not unit length
    masks_gt = np.zeros((3, 6, 6), dtype=bool)
    masks_gt[:, :4] = True
    masks_rec = np.zeros((3, 6, 6), dtype=bool)
    masks_rec[:, 2:] = True
    rec[~masks_gt] = -gt[~masks_gt]  # garbage where only the reconstruction covers: must be ignored
    result = normal_consistency(rec, masks_rec, gt, masks_gt)
    assert result.pixels_compared == 3 * 2 * 6
    assert result.mean_cosine == pytest.approx(np.cos(np.radians(30.0)))
    assert result.mean_angle_deg == pytest.approx(30.0)


def test_no_overlap_gives_nan_and_zero_pixels():
    normals = np.zeros((1, 2, 2, 3))
    masks_a = np.array([[[True, False], [False, False]]])
    result = normal_consistency(normals, masks_a, normals, ~masks_a)
    assert np.isnan(result.mean_cosine) and np.isnan(result.mean_angle_deg) and result.pixels_compared == 0


def test_shape_errors_name_the_argument():
    normals = np.zeros((2, 4, 4, 3))
    with pytest.raises(ValueError, match=r"masks_gt: expected shape \(2, 4, 4\) \(from normals_rec\), got \(2, 4, 5\)"):
        normal_consistency(normals, np.ones((2, 4, 4)), normals, np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match=r"normals_rec: expected shape \(V, H, W, 3\)"):
        normal_consistency(normals[0], np.ones((4, 4)), normals[0], np.ones((4, 4)))


def test_cube_face_normal_is_in_the_camera_frame(make_box):
    # Camera on the world -x axis looking along +x at a 1 m cube: the visible face's world normal is (-1, 0, 0);
    # in the camera frame (OpenCV, z forward) a face towards the camera is (0, 0, -1).
    cube = make_box(1.0, offset=(-0.5, -0.5, -0.5))
    camera = camera_looking_at((-4.0, 0.0, 0.0), size=64, focal=80.0)
    normals, masks = render_normal_maps(cube, [camera])
    assert normals.shape == (1, 64, 64, 3) and masks.shape == (1, 64, 64) and normals.dtype == np.float32
    np.testing.assert_allclose(normals[0][masks[0]], np.tile([0.0, 0.0, -1.0], (masks.sum(), 1)), atol=1e-6)
    # The face x = -0.5 is 3.5 m away: it spans 80 * 0.5 / 3.5 = 11.43 px either side of the centre 31.5.
    expected_columns = np.abs(np.arange(64) - 31.5) < 80.0 * 0.5 / 3.5
    np.testing.assert_array_equal(masks[0][31], expected_columns)
    assert not np.any(normals[0][~masks[0]])


def test_sphere_normals_face_the_camera_and_cover_its_disc(make_sphere):
    sphere = make_sphere(1.0, subdivisions=5)
    cameras = [camera_looking_at((0.0, -4.0, 0.0), name="a"), camera_looking_at((3.0, 0.0, 2.0), name="b")]
    normals, masks = render_normal_maps(sphere, cameras)
    centre = normals[:, 31:33, 31:33].reshape(-1, 3)
    np.testing.assert_allclose(centre, np.tile([0.0, 0.0, -1.0], (len(centre), 1)), atol=0.03)
    # Silhouette of a unit sphere 4 m away (camera a): a disc of angular radius asin(1/4).
    radius_px = 80.0 * np.tan(np.arcsin(0.25))
    assert masks[0].sum() == pytest.approx(np.pi * radius_px**2, rel=0.03)
    assert np.all(normals[masks][:, 2] < 0.0)  # a closed outward mesh only shows faces towards the camera
    # Normals follow the winding, render does not turn them towards the camera: the same sphere turned
    # inside out covers the same pixels and shows normals pointing away.
    inside_out = Mesh(sphere.vertices, sphere.faces[:, ::-1])
    flipped, flipped_masks = render_normal_maps(inside_out, cameras)
    np.testing.assert_array_equal(flipped_masks, masks)
    np.testing.assert_allclose(flipped, -normals, atol=1e-6)


def test_a_back_face_seen_through_a_hole_keeps_its_away_facing_normal(make_box):
    # An open box (its side towards the camera removed): the camera looks through the hole at the inside
    # of the far side, whose outward normal (+x world) points away from the camera: (0, 0, +1) in its frame.
    cube = make_box(1.0, offset=(-0.5, -0.5, -0.5))
    centroids = cube.vertices[cube.faces].mean(axis=1)
    open_box = Mesh(cube.vertices, cube.faces[centroids[:, 0] > -0.5 + 1e-9])
    camera = camera_looking_at((-4.0, 0.0, 0.0), size=64, focal=80.0)
    normals, masks = render_normal_maps(open_box, [camera])
    np.testing.assert_allclose(normals[0, 31:33, 31:33].reshape(-1, 3), np.tile([0.0, 0.0, 1.0], (4, 1)), atol=1e-6)
    # The far side x = +0.5 is 4.5 m away: 80 * 0.5 / 4.5 = 8.9 px either side of the centre; the inner
    # walls fill the ring out to the rim of the hole (11.4 px), none of them facing the camera.
    expected_columns = np.abs(np.arange(64) - 31.5) < 80.0 * 0.5 / 3.5
    np.testing.assert_array_equal(masks[0][31], expected_columns)
    assert np.all(normals[0][masks[0]][:, 2] >= -1e-6)


def test_evaluate_normals_ranks_a_worse_shape_lower(make_sphere, make_box):
    sphere = make_sphere(0.5, subdivisions=4)
    cameras = [camera_looking_at((0.0, -3.0, 0.0), name="a"), camera_looking_at((3.0, 0.0, 0.0), name="b")]
    same = evaluate_normals(sphere, sphere, cameras)
    assert same.mean_cosine == pytest.approx(1.0) and same.mean_angle_deg < 1e-2
    cube = evaluate_normals(make_box(0.8, offset=(-0.4, -0.4, -0.4)), sphere, cameras)
    assert cube.mean_angle_deg > 10.0 and cube.mean_cosine < 0.99


def test_evaluate_normals_uses_the_given_renderer(make_sphere):
    calls = []

    def flat_renderer(mesh, cameras):
        calls.append((mesh, tuple(cameras)))
        normals = np.zeros((len(cameras), 2, 2, 3))
        normals[..., 2] = -1.0 if len(calls) == 1 else 1.0  # rec faces the camera, GT faces away
        return normals, np.ones((len(cameras), 2, 2), dtype=bool)

    rec, gt = make_sphere(1.0, subdivisions=1), make_sphere(2.0, subdivisions=1)
    camera = camera_looking_at((0.0, -4.0, 0.0), size=2)
    result = evaluate_normals(rec, gt, [camera], renderer=flat_renderer)
    assert [c[0] for c in calls] == [rec, gt] and calls[0][1] == (camera,)
    assert result.mean_angle_deg == pytest.approx(180.0) and result.pixels_compared == 4


def test_normal_maps_reject_mixed_image_sizes(make_sphere):
    cameras = [camera_looking_at((0.0, -4.0, 0.0), size=16, name="a"), camera_looking_at((4.0, 0, 0), size=8, name="b")]
    with pytest.raises(RenderError, match="'cameras': expected one image size for all cameras .* a=16x16, b=8x8"):
        render_normal_maps(make_sphere(1.0, subdivisions=1), cameras)
    assert issubclass(RenderError, ValueError)
