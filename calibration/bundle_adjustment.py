"""Bundle adjustment of all cameras and board poses together (scipy least_squares, robust loss, sparse Jacobian).

Unknowns: every camera's pose except the reference camera's (fixed at the identity: it defines the frame and
removes the gauge freedom; the board's known square size fixes the scale), optionally every camera's intrinsics
(fx, fy, cx, cy, k1, k2, p1, p2 and k3 unless fixed), and every board pose. Residuals: pixel differences between
detected corners and their projections, 2 per corner. Each residual depends on one camera and one board pose
only, which `jac_sparsity` tells the solver, so finite differences and the trust-region steps stay cheap.

Intrinsics prior: refined intrinsics are pulled toward each camera's own calibration by one residual per term,
(value - start) / std x noise_px, where std is that calibration's standard deviation of the term and noise_px its
RMS reprojection error: the per-camera views' evidence, in the pixel units of the other residuals. The rig's
views move a term only as far as they constrain it better than the camera's own views did, so poorly constrained
terms (a principal point, k1 against k2) cannot drift to fit inter-camera noise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import coo_matrix
from scipy.spatial.transform import Rotation

from calibration.camera import distort_normalized

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Observations:
    """Detected corners as flat arrays (O observations).

    Attributes:
        camera: (O,) int camera index.
        pose: (O,) int board-pose index.
        points: (O, 3) the corner in the board frame, metres.
        pixels: (O, 2) where it was detected.
    """

    camera: np.ndarray
    pose: np.ndarray
    points: np.ndarray
    pixels: np.ndarray


@dataclass(frozen=True, eq=False)
class BundleResult:
    """Refined values (C cameras, P board poses) and how well they fit.

    Attributes:
        K: (C, 3, 3); dist: (C, 5); camera_poses: (C, 4, 4) T_camera_rig; board_poses: (P, 4, 4) T_rig_board.
        rms_before, rms_after: (C,) per-camera RMS reprojection error in pixels (norm of the 2D error).
        residuals: (O,) final error norm of each observation, pixels.
        evaluations: residual evaluations the solver used.
    """

    K: np.ndarray
    dist: np.ndarray
    camera_poses: np.ndarray
    board_poses: np.ndarray
    rms_before: np.ndarray
    rms_after: np.ndarray
    residuals: np.ndarray
    evaluations: int


def _pose_vector(T: np.ndarray) -> np.ndarray:
    return np.concatenate([Rotation.from_matrix(T[:3, :3]).as_rotvec(), T[:3, 3]])


def _pose_matrices(vectors: np.ndarray) -> np.ndarray:
    """(n, 6) rotation vectors + translations -> (n, 4, 4)."""
    T = np.tile(np.eye(4), (len(vectors), 1, 1))
    if len(vectors):
        T[:, :3, :3] = Rotation.from_rotvec(vectors[:, :3]).as_matrix()
        T[:, :3, 3] = vectors[:, 3:]
    return T


class _Layout:
    """Where each unknown sits in the parameter vector."""

    def __init__(self, num_cameras: int, num_poses: int, reference: int, refine_intrinsics: bool, fix_k3: bool):
        self.num_cameras, self.num_poses, self.reference = num_cameras, num_poses, reference
        self.free_cameras = [c for c in range(num_cameras) if c != reference]
        self.intrinsic_size = (9 if not fix_k3 else 8) if refine_intrinsics else 0
        self.extrinsic_start = 0
        self.intrinsic_start = 6 * len(self.free_cameras)
        self.pose_start = self.intrinsic_start + self.intrinsic_size * num_cameras
        self.size = self.pose_start + 6 * num_poses

    def extrinsic_columns(self, camera: int) -> list[int]:
        if camera == self.reference:
            return []
        start = self.extrinsic_start + 6 * self.free_cameras.index(camera)
        return list(range(start, start + 6))

    def intrinsic_columns(self, camera: int) -> list[int]:
        start = self.intrinsic_start + self.intrinsic_size * camera
        return list(range(start, start + self.intrinsic_size))

    def pose_columns(self, pose: int) -> list[int]:
        start = self.pose_start + 6 * pose
        return list(range(start, start + 6))


def _intrinsic_vector(K: np.ndarray, dist: np.ndarray, size: int) -> np.ndarray:
    return np.concatenate([[K[0, 0], K[1, 1], K[0, 2], K[1, 2]], dist[: size - 4]])


def _project(
    observations: Observations, intrinsics: np.ndarray, camera_poses: np.ndarray, board_poses: np.ndarray
) -> np.ndarray:
    """(O, 2) projections; intrinsics (C, 9) = fx, fy, cx, cy, k1, k2, p1, p2, k3."""
    Tp = board_poses[observations.pose]  # (O, 4, 4)
    Tc = camera_poses[observations.camera]
    world = np.einsum("oij,oj->oi", Tp[:, :3, :3], observations.points) + Tp[:, :3, 3]
    local = np.einsum("oij,oj->oi", Tc[:, :3, :3], world) + Tc[:, :3, 3]
    xy = local[:, :2] / np.maximum(local[:, 2:3], 1e-9)
    params = intrinsics[observations.camera]  # (O, 9)
    distorted = distort_normalized(xy, params[:, 4:9].T)
    return distorted * params[:, 0:2] + params[:, 2:4]


def _per_camera_rms(errors: np.ndarray, cameras: np.ndarray, num_cameras: int) -> np.ndarray:
    squared = np.bincount(cameras, weights=errors**2, minlength=num_cameras)
    counts = np.maximum(np.bincount(cameras, minlength=num_cameras), 1)
    return np.sqrt(squared / counts)


def _quadratic_under_soft_l1(r: np.ndarray, scale: float) -> np.ndarray:
    """Residuals s with soft_l1 cost scale^2 rho((s / scale)^2) = r^2: a Gaussian prior inside a robust solve."""
    z = (1.0 + 0.5 * (r / scale) ** 2) ** 2 - 1.0
    return np.sign(r) * scale * np.sqrt(z)


def bundle_adjust(
    observations: Observations,
    K: np.ndarray,
    dist: np.ndarray,
    camera_poses: np.ndarray,
    board_poses: np.ndarray,
    reference: int = 0,
    refine_intrinsics: bool = True,
    fix_k3: bool = True,
    intrinsic_std: np.ndarray | None = None,
    noise_px: np.ndarray | None = None,
    loss_scale_px: float = 1.0,
    max_evaluations: int = 200,
) -> BundleResult:
    """Refine cameras (C) and board poses (P) to minimise the robust reprojection error of all observations.

    Args:
        observations: O detected corners.
        K: (C, 3, 3), dist: (C, 5), camera_poses: (C, 4, 4) T_camera_rig, board_poses: (P, 4, 4) T_rig_board: start.
        reference: index of the camera held fixed (its pose defines the rig frame).
        refine_intrinsics: also refine fx, fy, cx, cy and distortion (k3 only if not `fix_k3`); skew stays 0.
        intrinsic_std: (C, 9) standard deviations of [fx, fy, cx, cy, k1, k2, p1, p2, k3] of the start values
            (each camera's own calibration); with `noise_px` (C,) (that calibration's RMS error, pixels) they give
            the intrinsics prior (module docstring). None: no prior (the intrinsics are free).
        loss_scale_px: scale of the soft_l1 robust loss (residuals beyond ~scale count less), pixels.
    """
    C, P = len(K), len(board_poses)
    layout = _Layout(C, P, reference, refine_intrinsics, fix_k3)
    full_intrinsics = np.stack([_intrinsic_vector(K[c], dist[c], 9) for c in range(C)])

    x0 = np.zeros(layout.size)
    for c in layout.free_cameras:
        x0[layout.extrinsic_columns(c)] = _pose_vector(camera_poses[c])
    if refine_intrinsics:
        for c in range(C):
            x0[layout.intrinsic_columns(c)] = full_intrinsics[c, : layout.intrinsic_size]
    for p in range(P):
        x0[layout.pose_columns(p)] = _pose_vector(board_poses[p])

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cameras = camera_poses.copy()
        cameras[layout.free_cameras] = _pose_matrices(x[layout.extrinsic_start : layout.intrinsic_start].reshape(-1, 6))
        intrinsics = full_intrinsics.copy()
        if refine_intrinsics:
            block = x[layout.intrinsic_start : layout.pose_start].reshape(C, layout.intrinsic_size)
            intrinsics[:, : layout.intrinsic_size] = block
        poses = _pose_matrices(x[layout.pose_start :].reshape(P, 6))
        return intrinsics, cameras, poses

    prior = refine_intrinsics and intrinsic_std is not None
    if prior:
        start = x0[layout.intrinsic_start : layout.pose_start].copy()
        std = np.asarray(intrinsic_std, dtype=np.float64)[:, : layout.intrinsic_size]
        # a term the camera's own solve held fixed (std 0) stays put; a float floor keeps the weight finite
        weight = (np.asarray(noise_px, dtype=np.float64)[:, None] / np.maximum(std, 1e-9)).ravel()
    num_pixels = 2 * len(observations.camera)

    def residuals(x: np.ndarray) -> np.ndarray:
        pixels = (_project(observations, *unpack(x)) - observations.pixels).ravel()
        if not prior:
            return pixels
        pull = (x[layout.intrinsic_start : layout.pose_start] - start) * weight
        return np.concatenate([pixels, _quadratic_under_soft_l1(pull, loss_scale_px)])

    rows, cols = [], []
    for o, (c, p) in enumerate(zip(observations.camera, observations.pose)):
        columns = layout.extrinsic_columns(c) + layout.intrinsic_columns(c) + layout.pose_columns(p)
        for row in (2 * o, 2 * o + 1):
            rows += [row] * len(columns)
            cols += columns
    num_prior = layout.pose_start - layout.intrinsic_start if prior else 0
    rows += list(range(num_pixels, num_pixels + num_prior))
    cols += list(range(layout.intrinsic_start, layout.intrinsic_start + num_prior))
    sparsity = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_pixels + num_prior, layout.size))

    before = np.linalg.norm(residuals(x0)[:num_pixels].reshape(-1, 2), axis=1)
    solution = least_squares(
        residuals,
        x0,
        jac_sparsity=sparsity.tocsr(),
        method="trf",
        loss="soft_l1",
        f_scale=loss_scale_px,
        x_scale="jac",
        max_nfev=max_evaluations,
        tr_options={"atol": 1e-12, "btol": 1e-12},  # accurate inner (lsmr) solves: fewer zig-zag steps
        ftol=1e-6,  # relative cost change; the cost is at the detection-noise floor long before 1e-8
    )
    after = np.linalg.norm(solution.fun[:num_pixels].reshape(-1, 2), axis=1)
    intrinsics, cameras, poses = unpack(solution.x)
    K_out = np.tile(np.eye(3), (C, 1, 1))
    K_out[:, 0, 0], K_out[:, 1, 1], K_out[:, 0, 2], K_out[:, 1, 2] = intrinsics[:, :4].T
    logger.info(
        "bundle adjustment: %d observations, %d unknowns, %d evaluations, RMS %.3f -> %.3f px",
        len(after), layout.size, solution.nfev, np.sqrt(np.mean(before**2)), np.sqrt(np.mean(after**2)),
    )  # fmt: skip
    return BundleResult(
        K=K_out,
        dist=intrinsics[:, 4:9].copy(),
        camera_poses=cameras,
        board_poses=poses,
        rms_before=_per_camera_rms(before, observations.camera, C),
        rms_after=_per_camera_rms(after, observations.camera, C),
        residuals=after,
        evaluations=int(solution.nfev),
    )
