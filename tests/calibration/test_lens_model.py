"""The lens model chosen from the evidence (calibration.intrinsics.calibrate_intrinsics): views of a board covering
little of the image leave the principal point uncertain, get fewer terms and keep a plausible principal point
where the full model drifts; views filling the image keep the full model. Detections are projected corners with noise (no rendering)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.board import Detection, parse_board
from calibration.intrinsics import calibrate_intrinsics
from calibration.plausibility import MIN_COVERAGE, coverage
from calibration.rig_calibration import CalibrationOptions, calibrate_rig, format_report

SIZE = (1280, 720)
K_TRUE = np.array([[700.0, 0.0, 652.0], [0.0, 700.0, 366.0], [0.0, 0.0, 1.0]])
DIST_TRUE = np.array([0.12, -0.15, 0.0, 0.0, 0.0])
BOARD = parse_board("checkerboard:9x6:0.04")


def _views(num: int, distance: tuple[float, float], spread: float, seed: int, noise_px: float = 0.25) -> list[Detection]:
    """`num` views of BOARD by the K_TRUE / DIST_TRUE camera: the board's centre `distance` (min, max) metres away,
    within `spread` (normalised image units) of the optical axis, tilted up to 40 degrees; corners with Gaussian
    noise. Views with a corner outside the image are skipped."""
    rng = np.random.default_rng(seed)
    centre = BOARD.object_points.mean(axis=0)
    views = []
    while len(views) < num:
        rotation = cv2.Rodrigues(np.radians(rng.uniform(-40, 40, 3) * [1, 1, 0.5]))[0]
        depth = rng.uniform(*distance)
        target = np.array([*rng.uniform(-spread, spread, 2) * [1.0, 0.6], 1.0]) * depth
        points = (BOARD.object_points - centre) @ rotation.T + target
        pixels = cv2.projectPoints(points, np.zeros(3), np.zeros(3), K_TRUE, DIST_TRUE)[0].reshape(-1, 2)
        if points[:, 2].min() <= 0.1 or (pixels < 0).any() or (pixels >= SIZE).any():
            continue
        pixels = pixels + rng.normal(0.0, noise_px, pixels.shape)
        views.append(Detection(np.arange(len(pixels)), pixels, SIZE, f"view{len(views):02d}"))
    return views


def _centre_error(K: np.ndarray) -> float:
    """Largest principal point error as a fraction of the image width / height."""
    return float(np.max(np.abs(K[:2, 2] - K_TRUE[:2, 2]) / SIZE))


def test_small_board_near_the_centre_keeps_the_principal_point_plausible():
    # a small board far away, always near the middle of the image (6-11 % of it covered), six sequences: the
    # chosen model (p1 = p2 = 0) keeps the principal point within 1 % of the image, the full model drifts
    chosen_errors, full_errors = [], []
    for seed in range(2, 8):
        views = _views(12, (1.6, 2.2), 0.12, seed=seed)
        assert coverage(views) < MIN_COVERAGE
        chosen = calibrate_intrinsics(views, BOARD, "cam")
        full = calibrate_intrinsics(views, BOARD, "cam", reduce=False)
        assert chosen.model.startswith("k1, k2; p1 = p2 = 0 (principal point std") and full.model == "k1, k2, p1, p2"
        assert chosen.dist[2:4].tolist() == [0.0, 0.0]
        # the fixed terms have no spread, so the bundle adjustment's prior keeps them
        assert chosen.std[6:8].tolist() == [0.0, 0.0] and (chosen.std[:4] > 0).all()
        chosen_errors.append(_centre_error(chosen.K))
        full_errors.append(_centre_error(full.K))
    assert max(chosen_errors) < 0.01
    assert max(full_errors) > 0.02


def test_uncertain_principal_point_is_fixed_at_the_image_centre():
    # five noisy views of a small board: even without p1, p2 the principal point is uncertain by > 2 % of the image
    views = _views(5, (1.8, 2.4), 0.08, seed=2, noise_px=0.4)
    chosen = calibrate_intrinsics(views, BOARD, "cam")
    full = calibrate_intrinsics(views, BOARD, "cam", reduce=False)
    assert "principal point at the image centre, fx = fy (its std then" in chosen.model
    assert chosen.K[:2, 2].tolist() == pytest.approx([(SIZE[0] - 1) / 2, (SIZE[1] - 1) / 2])
    assert chosen.K[0, 0] == pytest.approx(chosen.K[1, 1])
    assert chosen.std[2:4].tolist() == [0.0, 0.0] and chosen.std[0] > 0.0
    # the true principal point is ~1 % off the centre; the focal length is nearer the truth than the full model's
    assert _centre_error(chosen.K) < 0.011
    assert abs(chosen.K[0, 0] / K_TRUE[0, 0] - 1) < 0.01 < abs(full.K[0, 0] / K_TRUE[0, 0] - 1)


def test_board_filling_the_image_keeps_the_full_model():
    views = _views(15, (0.45, 0.7), 0.35, seed=4)
    assert coverage(views) >= MIN_COVERAGE
    result = calibrate_intrinsics(views, BOARD, "cam")
    assert result.model == "k1, k2, p1, p2"
    assert _centre_error(result.K) < 0.01
    assert abs(result.K[0, 0] / K_TRUE[0, 0] - 1) < 0.01


def test_the_rig_report_names_each_camera_lens_model_and_full_model_option():
    views = _views(12, (1.6, 2.2), 0.12, seed=3)
    # two cameras with the same views (one place): enough for a rig, and both get the reduced model
    detections = {"cam_a": {v.source: v for v in views}, "cam_b": {v.source: v for v in views}}
    default = calibrate_rig(detections, BOARD, CalibrationOptions(intrinsics="fixed"))
    assert all(r.model.startswith("k1, k2; p1 = p2 = 0 (principal point std") for r in default.reports)
    assert "camera cam_a: lens model k1, k2; p1 = p2 = 0" in format_report(default)
    full = calibrate_rig(detections, BOARD, CalibrationOptions(intrinsics="fixed", full_lens_model=True))
    assert [r.model for r in full.reports] == ["k1, k2, p1, p2"] * 2
