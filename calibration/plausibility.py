"""Plausibility checks of a calibration: intrinsics that no real lens has, board coverage, outlier cameras.

Each check returns sentences with the numbers (empty when all is well). Limits are wide on purpose: they catch a
solve that went wrong (a principal point far from the centre, a 130 degree field of view from a few views of an
ordinary webcam, distortion that folds the image), not a slightly unusual lens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from calibration.board import Detection
from calibration.intrinsics import COVERAGE_GRID, grid_cells
from calibration.rig import Rig

MAX_CENTRE_OFFSET = 0.1
"""Largest distance of the principal point from the image centre, as a fraction of the width / height."""
FOV_RANGE_DEG = (20.0, 120.0)
"""Horizontal field of view expected of a (non-fisheye) lens, degrees."""
MAX_ASPECT = 1.05
"""Largest fx / fy (or fy / fx): pixels are square on every current sensor."""
MAX_CORNER_DISTORTION = 0.3
"""Largest radial distortion at the image corners, as a fraction of the corner's radius."""
MIN_COVERAGE = 0.3
"""Smallest fraction of the image the board's corners should cover (COVERAGE_GRID cells) for trusted intrinsics."""
OUTLIER_FACTOR, OUTLIER_FLOOR_PX = 3.0, 1.0
"""A camera's RMS error is an outlier above max(OUTLIER_FACTOR x the median camera's, OUTLIER_FLOOR_PX)."""
RIG_SPAN_M = (0.02, 50.0)
"""Largest camera-to-camera distance expected of a capture rig, metres (from a stereo camera to a sports hall)."""
TYPICAL_SPAN_M = 3.0
"""A typical largest baseline, metres: the unit suggested for a rig out of RIG_SPAN_M is the one nearest to it."""
MAX_REFINED_CHANGE = 0.05
"""Largest change of a focal length (fraction), principal point (fraction of the image size) or radial factor at
the image corners in the bundle adjustment before it is reported."""


def radial_profile(K: np.ndarray, dist: np.ndarray, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(64,) normalised radii r from the centre to the farthest image corner and (64,) radial factors
    1 + k1 r^2 + k2 r^4 + k3 r^6 there, for (3, 3) K and (5,) [k1, k2, p1, p2, k3]."""
    width, height = image_size
    r_max = np.hypot(max(K[0, 2], width - K[0, 2]) / K[0, 0], max(K[1, 2], height - K[1, 2]) / K[1, 1])
    r = np.linspace(0.0, r_max, 64)
    return r, radial_factor(dist, r)


def radial_factor(dist: np.ndarray, r: np.ndarray) -> np.ndarray:
    """1 + k1 r^2 + k2 r^4 + k3 r^6 at normalised radii r (any shape), for (5,) [k1, k2, p1, p2, k3]."""
    return 1 + dist[0] * r**2 + dist[1] * r**4 + dist[4] * r**6


def check_intrinsics(K: np.ndarray, dist: np.ndarray, image_size: tuple[int, int]) -> list[str]:
    """Problems with one camera's (3, 3) K (pixels) and (5,) [k1, k2, p1, p2, k3] for an image (width, height)."""
    width, height = image_size
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    problems = []
    off_x, off_y = (cx - width / 2) / width, (cy - height / 2) / height
    if max(abs(off_x), abs(off_y)) > MAX_CENTRE_OFFSET:
        problems.append(
            f"principal point ({cx:.0f}, {cy:.0f}) px is {100 * abs(off_x):.0f}% / {100 * abs(off_y):.0f}% of the "
            f"image from its centre ({width / 2:.0f}, {height / 2:.0f}); expected within {100 * MAX_CENTRE_OFFSET:.0f}%"
        )
    fov = float(np.degrees(2 * np.arctan2(width / 2, fx)))
    if not FOV_RANGE_DEG[0] <= fov <= FOV_RANGE_DEG[1]:
        problems.append(
            f"fx = {fx:.0f} px gives a {fov:.0f} degree horizontal field of view for a {width} px wide image; expected "
            f"{FOV_RANGE_DEG[0]:.0f}-{FOV_RANGE_DEG[1]:.0f} degrees (too few or too similar board views: "
            "add views tilted by 20-45 degrees that fill the image)"
        )
    if max(fx / fy, fy / fx) > MAX_ASPECT:
        problems.append(f"fx / fy = {fx / fy:.3f}; expected within {MAX_ASPECT:.2f} (square pixels)")
    r, factor = radial_profile(K, dist, image_size)
    radius = r * factor
    k1, k2, k3 = dist[0], dist[1], dist[4]
    if abs(factor[-1] - 1) > MAX_CORNER_DISTORTION or np.any(np.diff(radius) <= 0):
        folds = " and folds the image (distorted radius not increasing)" if np.any(np.diff(radius) <= 0) else ""
        problems.append(
            f"distortion k1 = {k1:.3f}, k2 = {k2:.3f}, k3 = {k3:.3f} moves the image corners by "
            f"{100 * (factor[-1] - 1):+.0f}% of their radius{folds}; expected within {100 * MAX_CORNER_DISTORTION:.0f}%"
        )
    return problems


def coverage(detections: Sequence[Detection]) -> float:
    """Fraction of the image's COVERAGE_GRID x COVERAGE_GRID cells that hold a detected corner, 0..1."""
    hit = np.zeros(COVERAGE_GRID * COVERAGE_GRID, dtype=bool)
    for detection in detections:
        hit[grid_cells(detection)] = True
    return float(hit.mean())


def check_coverage(fraction: float) -> list[str]:
    if fraction >= MIN_COVERAGE:
        return []
    return [
        f"the board's corners cover {int(100 * fraction)}% of the image (expected >= {100 * MIN_COVERAGE:.0f}%): "
        "lens distortion and the principal point are extrapolated; film the board near the image edges and corners"
    ]


def check_refinement(
    K_own: np.ndarray, dist_own: np.ndarray, K_refined: np.ndarray, dist_refined: np.ndarray, image_size: tuple[int, int]
) -> list[str]:
    """Report a bundle adjustment that moved the focal length, principal point or radial distortion (at the image
    corners) far from the camera's own solve; (3, 3) K and (5,) dist each, image (width, height)."""
    problems = []
    focal = np.diag(K_refined)[:2] / np.diag(K_own)[:2] - 1
    centre = (K_refined[:2, 2] - K_own[:2, 2]) / np.asarray(image_size, dtype=np.float64)
    if max(np.abs(focal).max(), np.abs(centre).max()) > MAX_REFINED_CHANGE:
        problems.append(
            f"the bundle adjustment moved fx, fy by {100 * focal[0]:+.1f}%, {100 * focal[1]:+.1f}% and the principal "
            f"point by {100 * centre[0]:+.1f}%, {100 * centre[1]:+.1f}% of the image from the camera's own calibration "
            f"(expected within {100 * MAX_REFINED_CHANGE:.0f}%); compare with --fixed-intrinsics"
        )
    r, factors = radial_profile(K_own, dist_own, image_size)
    own, refined = factors[-1], radial_factor(dist_refined, r[-1])  # both at the own solve's corner radius
    if abs(refined - own) > MAX_REFINED_CHANGE:
        problems.append(
            f"the bundle adjustment changed the distortion at the image corners from {100 * (own - 1):+.0f}% to "
            f"{100 * (refined - 1):+.0f}% of their radius (k1 {dist_own[0]:.3f} -> {dist_refined[0]:.3f}, k2 "
            f"{dist_own[1]:.3f} -> {dist_refined[1]:.3f}; expected within {100 * MAX_REFINED_CHANGE:.0f}%); compare "
            "with --fixed-intrinsics"
        )
    return problems


def reprojection_outliers(names: Sequence[str], rms: Sequence[float]) -> dict[str, str]:
    """Cameras whose RMS reprojection error (pixels) is far above the others', with a sentence each."""
    limit = max(OUTLIER_FACTOR * float(np.median(rms)), OUTLIER_FLOOR_PX)
    return {
        name: f"RMS reprojection error {value:.2f} px is above {limit:.2f} px ({OUTLIER_FACTOR:g} x the median "
        f"camera's {float(np.median(rms)):.2f} px): check its detections, focus and synchronisation"
        for name, value in zip(names, rms)
        if value > limit
    }


def check_scale(rig: Rig, units: str = "m") -> list[str]:
    """A sentence when the rig's cameras are implausibly far apart or close (a rig in mm labelled m), else [].

    `units` is what the file said its lengths are; the suggestion names the unit that brings the largest
    baseline into RIG_SPAN_M, nearest to TYPICAL_SPAN_M.
    """
    if len(rig) < 2:
        return []
    span = float(rig.baselines().max())
    low, high = RIG_SPAN_M
    if low <= span <= high:
        return []
    metres_per = {"m": 1.0, "cm": 0.01, "mm": 0.001}
    written = span / metres_per[units]
    fits = sorted(
        (unit for unit, factor in metres_per.items() if low <= written * factor <= high and unit != units),
        key=lambda unit: abs(np.log(written * metres_per[unit] / TYPICAL_SPAN_M)),
    )
    hint = f"; if the file's lengths are in {fits[0]}, set units: {fits[0]}" if fits else ""
    return [
        f"the cameras are up to {span:.4g} m apart, expected {low:g}-{high:g} m for a capture rig: the translations "
        f"look like the wrong unit (the file says units: {units}){hint}"
    ]
