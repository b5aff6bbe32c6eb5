"""Intrinsics (K, distortion) of one camera from board detections: view selection for coverage, outlier views
dropped, and a lens model chosen from the evidence (`calibrate_intrinsics`: fewer terms when the views leave the
principal point uncertain)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from calibration.board import Board, Detection
from calibration.errors import RigError

logger = logging.getLogger(__name__)

MIN_VIEWS = 3
"""Fewest board views an intrinsic calibration accepts (more, at varied angles, give better results)."""
COVERAGE_GRID = 8
"""The image is split into COVERAGE_GRID x COVERAGE_GRID cells to choose views that cover it."""
FREE_CENTRE_STD = 0.0035
"""Largest standard deviation of the principal point solved with the full lens model, as a fraction of the image
width / height, for which that model is kept; above it p1 = p2 = 0 (`calibrate_intrinsics`)."""
MAX_CENTRE_STD = 0.02
"""Largest standard deviation of the principal point solved with p1 = p2 = 0 (fraction of the image width /
height); above it the principal point is fixed at the image centre and fx = fy."""


@dataclass(frozen=True, eq=False)
class Intrinsics:
    """Result of `calibrate_intrinsics`.

    Attributes:
        K: (3, 3) camera matrix, pixels.
        dist: (5,) [k1, k2, p1, p2, k3].
        rms: RMS reprojection error over the used views, pixels.
        used: sources of the views used, in order.
        view_rms: (len(used),) per-view RMS error, pixels.
        dropped: sources of views dropped as outliers (per-view error far above the others).
        dropped_corners: number of single corners dropped as outliers (error far above the others' median).
        image_size: (width, height).
        std: (9,) standard deviations of [fx, fy, cx, cy, k1, k2, p1, p2, k3] from the solve (0 for a fixed term),
            in pixels for the first four; with fx = fy held, fx gets fy's.
        model: the lens model used and why, e.g. "k1, k2; p1 = p2 = 0 (principal point std 1.0% > 0.35% of the
            image)".
    """

    K: np.ndarray
    dist: np.ndarray
    rms: float
    used: tuple[str, ...]
    view_rms: np.ndarray
    dropped: tuple[str, ...]
    dropped_corners: int
    image_size: tuple[int, int]
    std: np.ndarray
    model: str = ""


def grid_cells(detection: Detection) -> np.ndarray:
    """Sorted unique indices (row * COVERAGE_GRID + column) of the image grid cells holding the detection's corners."""
    width, height = detection.image_size
    u = np.clip((detection.pixels[:, 0] / width * COVERAGE_GRID).astype(int), 0, COVERAGE_GRID - 1)
    v = np.clip((detection.pixels[:, 1] / height * COVERAGE_GRID).astype(int), 0, COVERAGE_GRID - 1)
    return np.unique(v * COVERAGE_GRID + u)


def select_views(detections: Sequence[Detection], max_views: int) -> list[int]:
    """Indices of at most `max_views` detections chosen greedily to cover the image evenly.

    Each step takes the view whose corners add the most coverage, where a grid cell already covered n times
    is worth 1 / (1 + n); so cells fill up evenly and views cluttering one spot are left out.
    """
    if len(detections) <= max_views:
        return list(range(len(detections)))
    cells = [grid_cells(detection) for detection in detections]
    counts = np.zeros(COVERAGE_GRID * COVERAGE_GRID)
    chosen: list[int] = []
    remaining = set(range(len(detections)))
    while len(chosen) < max_views:
        best = max(sorted(remaining), key=lambda i: float((1.0 / (1.0 + counts[cells[i]])).sum()))
        chosen.append(best)
        remaining.discard(best)
        counts[cells[best]] += 1
    return sorted(chosen)


CENTRED = cv2.CALIB_FIX_PRINCIPAL_POINT | cv2.CALIB_FIX_ASPECT_RATIO
"""OpenCV flags of the reduced model that holds the principal point at the image centre and fx = fy."""


def _calibrate(
    detections: Sequence[Detection], board: Board, image_size: tuple[int, int], flags: int
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """OpenCV calibration: (rms, K, dist (5,), per-view RMS (views,), per-view corner residual norms [(N_i,)],
    (9,) standard deviations of fx, fy, cx, cy, k1, k2, p1, p2, k3). With `CENTRED` flags the principal point
    stays at the image centre ((width - 1) / 2, (height - 1) / 2) and fx = fy."""
    object_points = [d.object_points(board).astype(np.float32).reshape(-1, 1, 3) for d in detections]
    image_points = [d.pixels.astype(np.float32).reshape(-1, 1, 2) for d in detections]
    criteria = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-10)
    guess = None
    if flags & CENTRED:
        guess = cv2.initCameraMatrix2D(object_points, image_points, image_size)
        guess[0, 0] = guess[1, 1] = np.sqrt(guess[0, 0] * guess[1, 1])
        guess[:2, 2] = (np.asarray(image_size, dtype=np.float64) - 1.0) / 2.0
        flags |= cv2.CALIB_USE_INTRINSIC_GUESS
    rms, K, dist, rvecs, tvecs, std, _, view_errors = cv2.calibrateCameraExtended(
        object_points, image_points, image_size, guess, None, flags=flags, criteria=criteria
    )
    residuals = []
    for points, pixels, rvec, tvec in zip(object_points, image_points, rvecs, tvecs):
        projected = cv2.projectPoints(points, rvec, tvec, K, dist)[0]
        residuals.append(np.linalg.norm((projected - pixels).reshape(-1, 2), axis=1))
    std = np.nan_to_num(std.reshape(-1)[:9], nan=0.0)
    if flags & cv2.CALIB_FIX_ASPECT_RATIO:
        std[0] = std[1] * K[0, 0] / K[1, 1]  # fx moves with fy
    return float(rms), K, dist.reshape(-1)[:5], view_errors.reshape(-1), residuals, std


def _solve_without_outliers(
    views: list[Detection],
    board: Board,
    image_size: tuple[int, int],
    flags: int,
    camera: str,
    outlier_factor: float,
    outlier_floor_px: float,
) -> tuple[tuple[float, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], np.ndarray], list[Detection], list[str]]:
    """`_calibrate` repeated (at most twice) without outlier corners and views (`calibrate_intrinsics`):
    (its result, the views kept (with their corners kept), the sources of the views dropped)."""
    dropped: list[str] = []
    for attempt in range(3):
        solved = _calibrate(views, board, image_size, flags)
        if attempt == 2:
            break
        _, _, _, view_rms, residuals, _ = solved
        corner_limit = max(outlier_factor * float(np.median(np.concatenate(residuals))), 2.0 * outlier_floor_px)
        view_limit = max(outlier_factor * float(np.median(view_rms)), outlier_floor_px)
        changed, kept, dropping = False, [], []
        for view, error, residual in zip(views, view_rms, residuals):
            good = residual <= corner_limit
            if (error > view_limit and good.all()) or good.sum() < max(4, len(good) // 2):
                logger.info("camera %s: view %s dropped (RMS %.2f px > %.2f px)", camera, view.source, error, view_limit)
                dropping.append(view.source)
                changed = True
                continue
            if not good.all():
                logger.info(
                    "camera %s: view %s: %d corner(s) dropped (error > %.2f px)",
                    camera, view.source, int((~good).sum()), corner_limit,
                )  # fmt: skip
                view = Detection(view.ids[good], view.pixels[good], view.image_size, view.source)
                changed = True
            kept.append(view)
        if not changed or len(kept) < MIN_VIEWS:
            break
        views = kept
        dropped += dropping
    return solved, views, dropped


def calibrate_intrinsics(
    detections: Sequence[Detection],
    board: Board,
    camera: str = "",
    max_views: int = 40,
    fix_k3: bool = True,
    outlier_factor: float = 3.0,
    outlier_floor_px: float = 0.5,
    reduce: bool = True,
) -> Intrinsics:
    """K and distortion of one camera from its board detections (OpenCV calibrateCamera).

    Lens model, chosen from the evidence when `reduce` (reported in `Intrinsics.model`): fx, fy, cx, cy, k1, k2,
    p1, p2 (and k3 unless `fix_k3`) when that solve's principal point has a standard deviation of at most
    FREE_CENTRE_STD of the image width / height; above it p1 = p2 = 0 (views of a board covering a small patch
    of the image cannot tell the tangential terms from a shifted principal point), and when the principal point's
    standard deviation then still exceeds MAX_CENTRE_STD, it is fixed at the image centre with fx = fy (square
    pixels), which is nearer the truth than such a solve.

    Args:
        detections: the camera's detections (>= MIN_VIEWS), all of one image size.
        board: the board they show.
        camera: camera name, for messages.
        max_views: at most this many views are used, chosen for coverage (`select_views`).
        fix_k3: keep k3 = 0 (recommended unless the lens is wide-angle and there are many views).
        outlier_factor, outlier_floor_px: a corner whose error exceeds max(outlier_factor x median corner error,
            2 x outlier_floor_px) is dropped (e.g. a corner cut by the image border and placed wrongly); a view whose
            RMS exceeds max(outlier_factor x median view RMS, outlier_floor_px), or that loses half its corners, is
            dropped. The calibration is then repeated (at most twice, never below MIN_VIEWS views).
        reduce: choose the lens model as above; False: always the full model.

    Raises:
        RigError: too few views, or images of different sizes.
    """
    if len(detections) < MIN_VIEWS:
        raise RigError(
            f"the board was found in only {len(detections)} image(s), need at least {MIN_VIEWS} for the intrinsics "
            "(film the board at more positions, filling the image and tilted by 20-45 degrees)",
            camera=camera,
        )
    sizes = {d.image_size for d in detections}
    if len(sizes) != 1:
        raise RigError(f"expected images of one size, got {sorted(sizes)}", camera=camera)
    (image_size,) = sizes
    radial = "k1, k2, k3" if not fix_k3 else "k1, k2"
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    model = f"{radial}, p1, p2"
    views = [detections[i] for i in select_views(detections, max_views)]

    def solve(flags: int):
        solved, kept, dropped = _solve_without_outliers(
            views, board, image_size, flags, camera, outlier_factor, outlier_floor_px
        )
        centre_std = float(max(solved[5][2] / image_size[0], solved[5][3] / image_size[1]))
        return solved, kept, dropped, centre_std

    solved, kept, dropped, centre_std = solve(flags)
    if reduce and centre_std > FREE_CENTRE_STD:
        model = (
            f"{radial}; p1 = p2 = 0 (principal point std {100 * centre_std:.2f}% > {100 * FREE_CENTRE_STD:.2f}% "
            "of the image)"
        )
        flags |= cv2.CALIB_ZERO_TANGENT_DIST
        solved, kept, dropped, centre_std = solve(flags)
        if centre_std > MAX_CENTRE_STD:
            model += (
                f"; principal point at the image centre, fx = fy (its std then {100 * centre_std:.1f}% > "
                f"{100 * MAX_CENTRE_STD:.0f}%)"
            )
            solved, kept, dropped, _ = solve(flags | CENTRED)
    rms, K, dist, view_rms, _, std = solved
    logger.info("camera %s: lens model %s", camera, model)
    used = {v.source for v in kept}
    return Intrinsics(
        K=K,
        dist=dist,
        rms=rms,
        used=tuple(v.source for v in kept),
        view_rms=view_rms,
        dropped=tuple(dropped),
        dropped_corners=sum(d.pixels.shape[0] for d in detections if d.source in used) - sum(len(v.ids) for v in kept),
        image_size=image_size,
        std=std,
        model=model,
    )
