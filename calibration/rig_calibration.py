"""Calibrate a whole rig from board detections: intrinsics per camera, initial poses, bundle adjustment, world frame.

    detections -> calibrate_intrinsics (per camera, or known) -> initial_rig (pose graph)
        -> bundle_adjust (poses; then intrinsics too, pulled toward each camera's own) -> world frame -> Rig
        -> plausibility checks (warnings in each CameraReport)
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np

from calibration.board import Board, Detection
from calibration.bundle_adjustment import Observations, bundle_adjust
from calibration.camera import Camera
from calibration.errors import RigError
from calibration.extrinsics import initial_rig, invert
from calibration.intrinsics import Intrinsics, calibrate_intrinsics
from calibration.plausibility import (
    check_coverage,
    check_intrinsics,
    check_refinement,
    coverage,
    reprojection_outliers,
)
from calibration.rig import Rig

logger = logging.getLogger(__name__)

WorldChoice = Literal["board", "floor", "camera"]
WORLD_CHOICES = ("board", "floor", "camera")
IntrinsicsMode = Literal["prior", "free", "fixed"]
INTRINSICS_MODES = ("prior", "free", "fixed")
FLOOR_FROM_BOARD = np.diag([1.0, -1.0, -1.0, 1.0])
"""T_board_world for `world="floor"`: x along the board's x, z up out of the printed side, y = z cross x."""


@dataclass(frozen=True)
class CalibrationOptions:
    """How to calibrate a rig from board views."""

    reference: str | None = None
    """Camera whose pose anchors the adjustment and picks the world board pose (default: first camera by name)."""
    world: WorldChoice = "board"
    """World frame: "board" = the board's own frame at `world_frame` (board plane z = 0, z into the board);
    "floor" = the board lies on the floor at `world_frame` (origin at its corner 0, z up, floor z = 0);
    "camera" = the reference camera's frame."""
    world_frame: str | None = None
    """Frame key of the board pose that sets the world (default: the first frame the reference camera sees)."""
    intrinsics: IntrinsicsMode = "prior"
    """Intrinsics in the bundle adjustment: "prior" = refined but pulled toward each camera's own solve as far as its
    views constrained it (bundle_adjustment's docstring); "free" = refined without that pull (only for views that
    fill every image); "fixed" = each camera's own solve kept."""
    fix_k3: bool = True
    """Keep the k3 distortion term at 0 (free it only for wide-angle lenses with many views)."""
    max_views: int = 40
    """At most this many views per camera for the per-camera intrinsics (chosen for image coverage)."""
    full_lens_model: bool = False
    """Solve every camera's full lens model (free principal point, p1, p2) however uncertain; default: fewer terms
    where the camera's views leave the principal point uncertain (`calibration.intrinsics.calibrate_intrinsics`)."""

    def __post_init__(self) -> None:
        if self.world not in WORLD_CHOICES:
            raise ValueError(f"world: expected one of {', '.join(WORLD_CHOICES)}, got {self.world!r}")
        if self.intrinsics not in INTRINSICS_MODES:
            raise ValueError(f"intrinsics: expected one of {', '.join(INTRINSICS_MODES)}, got {self.intrinsics!r}")


@dataclass(frozen=True)
class CameraReport:
    """What happened to one camera: views found and used, reprojection errors (pixels), the fraction of the image
    the board's corners covered (0..1), the plausibility problems found (sentences with numbers), and the lens
    model of the camera's own solve (`Intrinsics.model`)."""

    name: str
    searched: int
    found: int
    intrinsic_views: int
    intrinsic_rms: float
    dropped: tuple[str, ...]
    rig_views: int
    rms_before: float
    rms_after: float
    coverage: float
    warnings: tuple[str, ...]
    model: str = ""


@dataclass(frozen=True, eq=False)
class RigCalibration:
    """Result of `calibrate_rig`.

    Attributes:
        rig: the calibrated cameras (world frame per the options).
        reports: per camera, in rig order.
        board_poses: frame key -> (4, 4) T_world_board of every board pose in the adjustment.
        world: a sentence saying what the world frame is.
        tree: spanning-tree edges (parent camera, child camera, agreeing shared frames).
    """

    rig: Rig
    reports: tuple[CameraReport, ...]
    board_poses: dict[str, np.ndarray]
    world: str
    tree: tuple[tuple[str, str, int], ...]


def calibrate_rig(
    detections: dict[str, dict[str, Detection]],
    board: Board,
    options: CalibrationOptions = CalibrationOptions(),
    searched: dict[str, int] | None = None,
    known: Rig | None = None,
) -> RigCalibration:
    """Calibrate every camera of `detections` (camera -> frame key -> detection) and their relative poses.

    Frames of different cameras with the same key are taken to be the same moment. `searched` (camera -> images
    looked at) only feeds the report. `known`: cameras whose intrinsics (K, dist) are already known, e.g. from
    dedicated intrinsic recordings; they are kept fixed, and the other cameras are calibrated from their views.
    Raises RigError (naming the camera) when a camera has too few views, shares no board view with the others, or
    has another image size than its known intrinsics.
    """
    cameras = sorted(detections)
    if not cameras:
        raise RigError("no cameras to calibrate")
    reference = options.reference or cameras[0]
    if reference not in detections:
        raise RigError(f"expected one of {', '.join(cameras)}, got {reference!r}", field="reference")
    intrinsics = {}
    for camera in cameras:
        found = list(detections[camera].values())
        if known is not None and camera in known.names:
            intrinsics[camera] = _known_intrinsics(known[camera], found[0].image_size, known.source)
            continue
        intrinsics[camera] = calibrate_intrinsics(
            found, board, camera, max_views=options.max_views, fix_k3=options.fix_k3, reduce=not options.full_lens_model
        )
        logger.info(
            "camera %s: intrinsics from %d views, RMS %.3f px, f = (%.1f, %.1f)",
            camera, len(intrinsics[camera].used), intrinsics[camera].rms, *np.diag(intrinsics[camera].K)[:2],
        )  # fmt: skip
    flat = {(camera, key): d for camera in cameras for key, d in detections[camera].items()}
    start = initial_rig(flat, {c: (i.K, i.dist) for c, i in intrinsics.items()}, board, reference)

    keys = sorted(start.board_poses)
    pose_index = {key: i for i, key in enumerate(keys)}
    camera_index = {camera: i for i, camera in enumerate(cameras)}
    order = sorted(start.detections)
    observations = Observations(
        camera=np.concatenate([np.full(len(start.detections[k].ids), camera_index[k[0]]) for k in order]),
        pose=np.concatenate([np.full(len(start.detections[k].ids), pose_index[k[1]]) for k in order]),
        points=np.concatenate([start.detections[k].object_points(board) for k in order]),
        pixels=np.concatenate([start.detections[k].pixels for k in order]),
    )
    # poses first with each camera's own intrinsics; its per-camera RMS is the rig's noise level, which weighs the
    # intrinsics prior of the second pass (bundle_adjustment's docstring)
    result = bundle_adjust(
        observations,
        K=np.stack([intrinsics[c].K for c in cameras]),
        dist=np.stack([intrinsics[c].dist for c in cameras]),
        camera_poses=np.stack([start.camera_poses[c] for c in cameras]),
        board_poses=np.stack([start.board_poses[k] for k in keys]),
        reference=camera_index[reference],
        refine_intrinsics=False,
    )
    if options.intrinsics != "fixed":
        rms_before = result.rms_before
        prior = options.intrinsics == "prior"
        result = bundle_adjust(
            observations,
            K=result.K,
            dist=result.dist,
            camera_poses=result.camera_poses,
            board_poses=result.board_poses,
            reference=camera_index[reference],
            refine_intrinsics=True,
            fix_k3=options.fix_k3,
            # std 0 holds a term (known intrinsics), inf frees it (no prior)
            intrinsic_std=np.stack([intrinsics[c].std if prior or not intrinsics[c].used else np.full(9, np.inf)
                                    for c in cameras]),  # fmt: skip
            noise_px=result.rms_after,
        )
        result = dataclasses.replace(result, rms_before=rms_before)

    T_world_rig, world = _world_frame(options, reference, keys, start.detections, result.board_poses, pose_index)
    rig_cameras = []
    for c, camera in enumerate(cameras):
        T = result.camera_poses[c] @ invert(T_world_rig)  # T_camera_world
        width, height = intrinsics[camera].image_size
        rig_cameras.append(Camera(camera, width, height, result.K[c], result.dist[c], _orthonormal(T[:3, :3]), T[:3, 3]))
    views = np.bincount([camera_index[c] for c, _ in start.detections], minlength=len(cameras))
    outliers = reprojection_outliers(cameras, result.rms_after)
    covered = {camera: coverage(list(detections[camera].values())) for camera in cameras}
    warnings = {}
    for c, camera in enumerate(cameras):
        own = intrinsics[camera]
        warnings[camera] = tuple(
            check_intrinsics(result.K[c], result.dist[c], own.image_size)
            + (check_coverage(covered[camera]) if own.used else [])  # known intrinsics need no coverage
            + check_refinement(own.K, own.dist, result.K[c], result.dist[c], own.image_size)
            + ([outliers[camera]] if camera in outliers else [])
        )
        for warning in warnings[camera]:
            logger.warning("camera %s: %s", camera, warning)
    reports = tuple(
        CameraReport(
            name=camera,
            searched=(searched or {}).get(camera, len(detections[camera])),
            found=len(detections[camera]),
            intrinsic_views=len(intrinsics[camera].used),
            intrinsic_rms=intrinsics[camera].rms,
            dropped=intrinsics[camera].dropped,
            rig_views=int(views[c]),
            rms_before=float(result.rms_before[c]),
            rms_after=float(result.rms_after[c]),
            coverage=covered[camera],
            warnings=warnings[camera],
            model=intrinsics[camera].model,
        )
        for c, camera in enumerate(cameras)
    )
    board_poses = {key: T_world_rig @ result.board_poses[pose_index[key]] for key in keys}
    return RigCalibration(Rig(tuple(rig_cameras)), reports, board_poses, world, start.tree)


def _known_intrinsics(camera: Camera, image_size: tuple[int, int], source) -> Intrinsics:
    """Intrinsics given by a rig file (no views used; std 0 keeps them fixed in the bundle adjustment)."""
    if (camera.width, camera.height) != tuple(image_size):
        raise RigError(
            f"the known intrinsics are for {camera.width}x{camera.height} images, the camera's images are "
            f"{image_size[0]}x{image_size[1]}",
            file=source,
            camera=camera.name,
            field="width/height",
        )
    return Intrinsics(
        camera.K, camera.dist, float("nan"), (), np.zeros(0), (), 0, tuple(image_size), np.zeros(9), f"given by {source}"
    )


def _orthonormal(R: np.ndarray) -> np.ndarray:
    """The nearest rotation matrix (removes float round-off from chained transforms)."""
    U, _, Vt = np.linalg.svd(R)
    return U @ np.diag([1.0, 1.0, np.linalg.det(U @ Vt)]) @ Vt


def _world_frame(
    options: CalibrationOptions,
    reference: str,
    keys: list[str],
    detections: dict[tuple[str, str], Detection],
    board_poses: np.ndarray,
    pose_index: dict[str, int],
) -> tuple[np.ndarray, str]:
    """(4, 4) T_world_rig and a sentence describing the world frame."""
    if options.world == "camera":
        return np.eye(4), f"world = camera {reference}'s frame"
    key = options.world_frame
    if key is None:
        seen = [k for k in keys if (reference, k) in detections]
        key = seen[0] if seen else keys[0]
    elif key not in pose_index:
        raise RigError(
            f"expected a frame key with a board pose (e.g. {', '.join(keys[:5])}), got {key!r}", field="world_frame"
        )
    T_rig_board = board_poses[pose_index[key]]
    if options.world == "floor":
        return invert(T_rig_board @ FLOOR_FROM_BOARD), f"world = floor: the board at frame {key} (z up, floor z = 0)"
    return invert(T_rig_board), f"world = the board at frame {key} (board plane z = 0, z into the board)"


def format_report(result: RigCalibration) -> str:
    """A plain-text table of the per-camera figures, for the terminal."""
    header = (
        f"{'camera':<12} {'board found':>12} {'intr. views':>11} {'intr. RMS':>9} {'rig views':>9} "
        f"{'RMS before BA':>13} {'RMS after BA':>12} {'fx':>9} {'fy':>9} {'cx':>7} {'cy':>7} {'covered':>7}"
    )
    lines = [header]
    for report, camera in zip(result.reports, result.rig):
        lines.append(
            f"{report.name:<12} {f'{report.found}/{report.searched}':>12} "
            + (f"{report.intrinsic_views:>11} {report.intrinsic_rms:>8.3f}  " if report.intrinsic_views else
               f"{'given':>11} {'-':>8}  ")  # fmt: skip
            + f"{report.rig_views:>9} {report.rms_before:>12.3f}  {report.rms_after:>11.3f}  "
            f"{camera.K[0, 0]:>9.1f} {camera.K[1, 1]:>9.1f} {camera.K[0, 2]:>7.1f} {camera.K[1, 2]:>7.1f} "
            f"{int(100 * report.coverage):>6d}%"
        )
    lines.append(
        "(RMS: reprojection error in pixels; 'intr.' = the camera's own calibration before the rig is joined; "
        "covered: image area holding board corners)"
    )
    lines += [f"camera {report.name}: lens model {report.model}" for report in result.reports]
    for report in result.reports:
        if report.dropped:
            lines.append(f"camera {report.name}: outlier views left out: {', '.join(report.dropped)}")
    for report in result.reports:
        lines += [f"WARNING camera {report.name}: {warning}" for warning in report.warnings]
    lines.append("pose graph: " + ", ".join(f"{a}->{b} ({n} frames)" for a, b, n in result.tree))
    lines.append(result.world)
    return "\n".join(lines)
