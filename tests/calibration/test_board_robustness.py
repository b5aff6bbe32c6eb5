"""Calibration on awkward real-world input: inverted and mirrored ChArUco boards, camera names with underscores,
intrinsics that must not wander in the bundle adjustment, plausibility warnings, caliscope import."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from board_scene import board_poses_for_ring

from calibration.board import BoardError, detect_board, parse_board
from calibration.board_inputs import CameraImages, describe_polarity, detect_sources, find_image_sets
from calibration.bundle_adjustment import Observations, bundle_adjust
from calibration.extrinsics import to_matrix
from calibration.formats import import_rig
from calibration.plausibility import check_intrinsics, check_refinement, check_scale, coverage
from calibration.rig import Rig
from calibration.ring_rig import ring_rig

CHARUCO = "charuco:4x5:0.054:0.0405:DICT_4X4_1000"


def _charuco_photo(inverted: bool, mirrored: bool = False) -> np.ndarray:
    """(480, 640, 3) a 4 x 5 ChArUco board seen at a slant, printed normally or white on black."""
    board = parse_board(CHARUCO)
    flat = board.charuco_board().generateImage((240, 300), marginSize=20)
    flat = cv2.bitwise_not(flat) if inverted else flat
    canvas = np.full((480, 640), 0 if inverted else 255, np.uint8)  # the sheet's margin continues the print
    source = np.float32([[0, 0], [240, 0], [240, 300], [0, 300]])
    target = np.float32([[200, 80], [430, 100], [450, 400], [180, 390]])
    warped = cv2.warpPerspective(flat, cv2.getPerspectiveTransform(source, target), (640, 480), borderValue=-1)
    mask = cv2.warpPerspective(np.ones_like(flat), cv2.getPerspectiveTransform(source, target), (640, 480)) > 0
    canvas[mask] = warped[mask]
    canvas = np.where(mask, canvas, 128).astype(np.uint8)  # a grey room around the board
    canvas = cv2.flip(canvas, 1) if mirrored else canvas
    return cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)


def _camera(folder, camera: str, images: list[np.ndarray]) -> CameraImages:
    """A camera's frames written as PNG files (lossless: the detections match the in-memory images)."""
    files = {}
    for index, image in enumerate(images):
        files[f"{index:06d}"] = folder / f"{camera}_{index:06d}.png"
        cv2.imwrite(str(files[f"{index:06d}"]), image)
    return CameraImages(camera, files)


def test_inverted_charuco_is_found_automatically_and_reported(tmp_path):
    board = parse_board(CHARUCO)
    normal, inverted = _charuco_photo(False), _charuco_photo(True)
    assert detect_board(inverted, board) is None  # the plain search misses a board printed white on black
    found = detect_board(inverted, board, inverted=True)
    assert found is not None and found.inverted and len(found.ids) == 12
    reference = detect_board(normal, board)
    assert np.abs(found.pixels - reference.pixels).max() < 0.5  # same corners as the normal print
    detections, _ = detect_sources([_camera(tmp_path, "cam_0", [inverted, inverted, normal])], board)
    assert [d.inverted for d in detections["cam_0"].values()] == [True, True, False]
    assert describe_polarity(detections["cam_0"]) == "2 of 3 inverted"
    with pytest.raises(BoardError, match=r"cam_0 \(searched black on white only\).*inverted.*--board-polarity auto"):
        detect_sources([_camera(tmp_path, "cam_0", [inverted])], board, polarity="normal")
    with pytest.raises(BoardError, match="board polarity: expected one of auto, normal, inverted, got 'upside'"):
        detect_sources([_camera(tmp_path, "cam_0", [inverted])], board, polarity="upside")


def test_mirrored_charuco_keeps_ids_and_unmirrored_pixels(tmp_path):
    """A transparent board seen from behind: found in the mirrored image, pixels given in the camera's own image."""
    board = parse_board(CHARUCO)
    reference = detect_board(_charuco_photo(True), board, inverted=True)
    behind = _charuco_photo(True, mirrored=True)
    assert detect_board(behind, board, inverted=True) is None
    found = detect_sources([_camera(tmp_path, "cam_1", [behind])], board)[0]["cam_1"]["000000"]
    assert found.mirrored and found.inverted
    order = np.argsort(found.ids)
    assert found.ids[order].tolist() == sorted(reference.ids.tolist())
    expected = reference.pixels[np.argsort(reference.ids)].copy()
    expected[:, 0] = 640 - 1 - expected[:, 0]
    assert np.abs(found.pixels[order] - expected).max() < 0.5


@pytest.mark.parametrize(
    ("names", "cameras"),
    [
        (["cam_0_frame_000", "cam_0_frame_100", "cam_0_frame_1070", "cam_1_frame_1070", "cam_2_frame_1070"],
         {"cam_0": 3, "cam_1": 1, "cam_2": 1}),
        (["cam01_0001", "cam01_0002", "cam02_0001", "cam02_0002"], {"cam01": 2, "cam02": 2}),
        (["left_img_001", "left_img_002", "right_img_001"], {"left": 2, "right": 1}),
        (["cam_0_frame_000", "cam_0_frame_100"], {"cam_0": 2}),
    ],
)  # fmt: skip
def test_flat_image_names_split_into_cameras(tmp_path, names, cameras):
    for name in names:
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.zeros((4, 4), np.uint8))
    sets = find_image_sets(tmp_path)
    assert {s.camera: len(s.files) for s in sets} == cameras


def _observations(rig: Rig, poses: list[np.ndarray], board_points: np.ndarray) -> Observations:
    cams, ids, points, pixels = [], [], [], []
    for p, T in enumerate(poses):
        world = board_points @ T[:3, :3].T + T[:3, 3]
        for c, camera in enumerate(rig):
            uv = camera.project(world)
            local = world @ camera.R.T + camera.t
            inside = (local[:, 2] > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < camera.width) & (uv[:, 1] >= 0)
            inside &= uv[:, 1] < camera.height
            if inside.sum() >= 12:
                cams.append(np.full(inside.sum(), c))
                ids.append(np.full(inside.sum(), p))
                points.append(board_points[inside])
                pixels.append(uv[inside])
    return Observations(np.concatenate(cams), np.concatenate(ids), np.concatenate(points), np.concatenate(pixels))


def test_intrinsics_prior_holds_what_the_views_do_not_contradict():
    """Start 3 % off in fx: without a prior the exact views pull it back; with a tight prior (tiny std) the
    camera's own value holds; noise_px scales the prior into pixel units."""
    rig = ring_rig(3, radius=1.5, height=1.5, target=(0.0, 0.0, 1.3), image_size=(640, 480), fov_deg=60.0,
                   distortion=(-0.1, 0.02, 0.0, 0.0, 0.0), jitter=0.0, seed=0)  # fmt: skip
    board = parse_board("checkerboard:9x6:0.08")
    poses = [T @ to_matrix(np.eye(3), -board.object_points.mean(axis=0)) for T in board_poses_for_ring(9, 3)]
    observations = _observations(rig, poses, board.object_points)
    K_start = np.stack([camera.K.copy() for camera in rig])
    K_start[:, 0, 0] *= 1.03
    arguments = dict(
        K=K_start,
        dist=np.stack([camera.dist for camera in rig]),
        camera_poses=np.stack([to_matrix(camera.R, camera.t) for camera in rig]),
        board_poses=np.stack(poses),
    )
    free = bundle_adjust(observations, **arguments)
    assert free.K[:, 0, 0] == pytest.approx([camera.K[0, 0] for camera in rig], rel=1e-3)
    held = bundle_adjust(observations, **arguments, intrinsic_std=np.full((3, 9), 1e-4), noise_px=np.ones(3))
    assert held.K[:, 0, 0] == pytest.approx(K_start[:, 0, 0], rel=1e-5)
    loose = bundle_adjust(observations, **arguments, intrinsic_std=np.full((3, 9), 1e3), noise_px=np.ones(3))
    assert loose.K[:, 0, 0] == pytest.approx([camera.K[0, 0] for camera in rig], rel=1e-3)


def _K(fx: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fx, cy], [0.0, 0.0, 1.0]])


def test_plausibility_checks_name_the_numbers():
    size = (1280, 720)
    assert check_intrinsics(_K(900.0, 640.0, 360.0), np.array([-0.1, 0.02, 0, 0, 0]), size) == []
    (centre,) = check_intrinsics(_K(900.0, 640.0, 625.0), np.zeros(5), size)
    assert "principal point (640, 625) px" in centre and "37% of the image" in centre
    (wide,) = check_intrinsics(_K(277.0, 640.0, 360.0), np.zeros(5), size)
    assert "133 degree horizontal field of view" in wide
    (fold,) = check_intrinsics(_K(640.0, 640.0, 360.0), np.array([0.2, -0.45, 0, 0, 0]), size)
    assert "folds the image" in fold and "k2 = -0.450" in fold
    own = np.array([0.2, -0.4, 0, 0, 0])
    (moved,) = check_refinement(_K(900.0, 640.0, 360.0), own, _K(720.0, 640.0, 420.0), own, size)
    assert "fx, fy by -20.0%, -20.0%" in moved and "+8.3% of the image" in moved
    (bent,) = check_refinement(_K(700.0, 640.0, 360.0), own, _K(700.0, 640.0, 360.0), np.array([0.04, 0.02, 0, 0, 0]), size)
    assert "distortion at the image corners from -26% to +7%" in bent and "k1 0.200 -> 0.040" in bent
    assert check_refinement(_K(900.0, 640.0, 360.0), own, _K(910.0, 645.0, 362.0), own * 1.02, size) == []


def test_coverage_counts_image_cells_with_corners():
    board = parse_board(CHARUCO)
    found = detect_board(_charuco_photo(False), board)
    assert 0.05 < coverage([found]) < 0.3  # 12 corners in the middle of a 640 x 480 image


def test_rig_in_millimetres_labelled_metres_is_flagged():
    rig = ring_rig(4, radius=1.5, height=1.5, target=(0.0, 0.0, 1.3), image_size=(640, 480), fov_deg=60.0)
    assert check_scale(rig) == []
    scaled = Rig(tuple(type(c)(c.name, c.width, c.height, c.K, c.dist, c.R, c.t * 1000) for c in rig))
    (warning,) = check_scale(scaled)
    assert "up to 3000 m apart" in warning and "set units: mm" in warning
    tiny = Rig(tuple(type(c)(c.name, c.width, c.height, c.K, c.dist, c.R, c.t / 1000) for c in rig))
    (warning,) = check_scale(tiny, units="mm")  # metres written in a file that says mm
    assert "up to 0.003 m apart" in warning and "(the file says units: mm); if the file's lengths are in m" in warning


CALISCOPE = """
[cameras.1]
cam_id = 1
rotation_count = -1
size = [1280, 720]
matrix = [[704.0, 0.0, 626.0], [0.0, 706.2, 348.9], [0.0, 0.0, 1.0]]
distortions = [0.19, -0.25, 0.003, -0.005, 0.11]
translation = [0.1, -0.2, 0.3]
rotation = [0.1, 0.2, -0.3]

[cameras.0]
cam_id = 0
size = [1280, 720]
matrix = [[894.5, 0.0, 624.0], [0.0, 896.9, 361.3], [0.0, 0.0, 1.0]]
distortions = [-0.34, 0.097, -0.0014, 0.0032, -0.0037]
translation = [-0.64, 0.26, 1.45]
rotation = [[0.028454458274723926, -0.8200005191342249, 0.571655046705523], [-0.9915778577174362, -0.0954406312087065, -0.0875467760627629], [0.12634752031121108, -0.5643493904790591, -0.8158100695487417]]
"""


def test_caliscope_camera_array_import(tmp_path):
    path = tmp_path / "camera_array.toml"
    path.write_text(CALISCOPE)
    rig = import_rig("caliscope", [path])
    assert rig.names == ["cam_0", "cam_1"]
    assert rig["cam_0"].K[0, 0] == 894.5 and rig["cam_0"].dist[4] == pytest.approx(-0.0037)
    assert rig["cam_1"].R == pytest.approx(cv2.Rodrigues(np.array([0.1, 0.2, -0.3]))[0])
    assert rig["cam_0"].t.tolist() == [-0.64, 0.26, 1.45]
    assert math.isclose(np.linalg.det(rig["cam_0"].R), 1.0)
