"""Initial camera poses from views where several cameras see the board at once: a graph over the cameras.

1. Every detection gets a board pose in its camera (solvePnP, IPPE for planar targets), for each possible corner
   numbering: checkerboards look the same after a half turn, so a camera may number the corners from either end.
2. Each camera pair with shared frames gets a relative pose by consensus: every (frame, numbering) gives a
   candidate; the candidate that most other frames agree with wins, and its agreeing candidates are averaged.
   Choosing the numbering per frame this way is what makes flipped checkerboards harmless.
3. A maximum spanning tree over the pairs (weight = agreeing frames) from the reference camera chains the
   relative poses, so not every pair needs to share frames.
4. Each frame's board pose in the reference camera's frame is taken from the camera seeing most corners, and
   every other detection of that frame is renumbered to agree with it.

Poses are 4x4 matrices T_a_b mapping b coordinates to a coordinates (x_a = T_a_b @ x_b), metres.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from calibration.board import Board, Detection
from calibration.errors import RigError

logger = logging.getLogger(__name__)

ROTATION_TOLERANCE_DEG = 5.0
"""Two relative-pose candidates agree if their rotations differ by less than this..."""
TRANSLATION_TOLERANCE = 0.1
"""...and their translations by less than this fraction of the translation's length (plus 2 cm)."""

Key = tuple[str, str]
"""(camera, frame key)."""


def to_matrix(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(4, 4) homogeneous transform from (3, 3) R and (3,) t."""
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, np.asarray(t).reshape(3)
    return T


def invert(T: np.ndarray) -> np.ndarray:
    """(4, 4) inverse of a rigid transform."""
    R, t = T[:3, :3], T[:3, 3]
    return to_matrix(R.T, -R.T @ t)


def board_pose(detection: Detection, board: Board, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """(4, 4) T_camera_board of one detection (planar PnP: IPPE, then Levenberg-Marquardt refinement)."""
    points = detection.object_points(board)
    pixels = detection.pixels.reshape(-1, 1, 2)
    ok, rvec, tvec = cv2.solvePnP(points, pixels, K, dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        ok, rvec, tvec = cv2.solvePnP(points, pixels, K, dist, flags=cv2.SOLVEPNP_ITERATIVE)
    rvec, tvec = cv2.solvePnPRefineLM(points, pixels, K, dist, rvec, tvec)
    return to_matrix(cv2.Rodrigues(rvec)[0], tvec)


def _differ(A: np.ndarray, B: np.ndarray) -> tuple[float, float]:
    """(rotation angle in degrees, translation distance relative to |t_A| + 2 cm) between two transforms."""
    cos = (np.trace(A[:3, :3].T @ B[:3, :3]) - 1.0) / 2.0
    angle = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return angle, float(np.linalg.norm(A[:3, 3] - B[:3, 3]) / (np.linalg.norm(A[:3, 3]) + 0.02))


def _agree(A: np.ndarray, B: np.ndarray) -> bool:
    angle, shift = _differ(A, B)
    return angle < ROTATION_TOLERANCE_DEG and shift < TRANSLATION_TOLERANCE


def _mean_pose(poses: list[np.ndarray]) -> np.ndarray:
    rotation = Rotation.from_matrix(np.stack([T[:3, :3] for T in poses])).mean().as_matrix()
    return to_matrix(rotation, np.mean([T[:3, 3] for T in poses], axis=0))


@dataclass(frozen=True)
class PairPose:
    """Relative pose T_a_b of cameras a, b from `support` agreeing shared frames (of `shared`)."""

    a: str
    b: str
    T_a_b: np.ndarray
    support: int
    shared: int


def pair_pose(poses_a: dict[str, list[np.ndarray]], poses_b: dict[str, list[np.ndarray]], a: str, b: str) -> PairPose | None:
    """Consensus relative pose of cameras a and b, or None when they share no frame.

    Args:
        poses_a, poses_b: frame key -> T_camera_board for each corner numbering (index 0 = as detected).
    """
    shared = sorted(set(poses_a) & set(poses_b))
    if not shared:
        return None
    candidates = {
        key: [poses_a[key][0] @ invert(T_b) for T_b in poses_b[key]] for key in shared
    }  # key -> [T_a_b per numbering of b]
    best: list[np.ndarray] = []
    for key in shared:
        for candidate in candidates[key]:
            agreeing = []
            for other in shared:
                matches = [T for T in candidates[other] if _agree(candidate, T)]
                if matches:
                    agreeing.append(min(matches, key=lambda T: _differ(candidate, T)[0]))
            if len(agreeing) > len(best):
                best = agreeing
    return PairPose(a, b, _mean_pose(best), len(best), len(shared))


@dataclass(frozen=True, eq=False)
class InitialRig:
    """Start values for bundle adjustment, in the reference camera's frame ("rig frame").

    Attributes:
        camera_poses: camera -> (4, 4) T_camera_rig.
        board_poses: frame key -> (4, 4) T_rig_board.
        detections: (camera, frame key) -> Detection renumbered to agree with the frame's board pose.
        tree: the spanning-tree edges (parent, child, agreeing frames) used.
    """

    camera_poses: dict[str, np.ndarray]
    board_poses: dict[str, np.ndarray]
    detections: dict[Key, Detection]
    tree: tuple[tuple[str, str, int], ...]


def _spanning_tree(cameras: list[str], pairs: dict[tuple[str, str], PairPose], reference: str) -> list[PairPose]:
    """Edges of a maximum spanning tree (Prim) over `pairs`, grown from `reference`; raises if disconnected."""
    reached, edges = {reference}, []
    while len(reached) < len(cameras):
        options = [p for (a, b), p in pairs.items() if (a in reached) != (b in reached) and p.support > 0]
        if not options:
            missing = sorted(set(cameras) - reached)
            raise RigError(
                f"cameras {', '.join(missing)} share no board views with cameras {', '.join(sorted(reached))}: film "
                "the board where a camera of each group sees it at the same moment (synchronised frames)",
                field="extrinsics",
            )
        edge = max(options, key=lambda p: (p.support, p.shared))  # first of equals: deterministic
        edges.append(edge)
        reached |= {edge.a, edge.b}
    return edges


def initial_rig(
    detections: dict[Key, Detection],
    intrinsics: dict[str, tuple[np.ndarray, np.ndarray]],
    board: Board,
    reference: str,
) -> InitialRig:
    """Camera and board poses from the detections and per-camera intrinsics, in the reference camera's frame.

    Args:
        detections: (camera, frame key) -> detection, for the cameras in `intrinsics`.
        intrinsics: camera -> (K (3, 3), dist (5,)).
        reference: camera whose frame is the rig frame.
    """
    cameras = sorted(intrinsics)
    if reference not in intrinsics:
        raise RigError(f"reference camera {reference!r} is not among the calibrated cameras {cameras}", field="reference")
    numbering = {}
    for (camera, key), detection in detections.items():
        variants = [detection, detection.half_turned(board)] if board.symmetric else [detection]
        numbering[camera, key] = variants
    poses = {ck: [board_pose(d, board, *intrinsics[ck[0]]) for d in variants] for ck, variants in numbering.items()}
    per_camera: dict[str, dict[str, list[np.ndarray]]] = {camera: {} for camera in cameras}
    for (camera, key), variants in poses.items():
        per_camera[camera][key] = variants
    pairs = {}
    for i, a in enumerate(cameras):
        for b in cameras[i + 1 :]:
            pair = pair_pose(per_camera[a], per_camera[b], a, b)
            if pair is not None:
                pairs[a, b] = pair
                logger.info("cameras %s-%s: %d of %d shared frames agree", a, b, pair.support, pair.shared)
    camera_poses = {reference: np.eye(4)}
    tree = []
    for edge in _spanning_tree(cameras, pairs, reference):
        if edge.a in camera_poses:
            parent, child, T_child_parent = edge.a, edge.b, invert(edge.T_a_b)
        else:
            parent, child, T_child_parent = edge.b, edge.a, edge.T_a_b
        camera_poses[child] = T_child_parent @ camera_poses[parent]
        tree.append((parent, child, edge.support))

    board_poses, renumbered = {}, {}
    keys = sorted({key for _, key in detections})
    for key in keys:
        seen = [camera for camera in cameras if (camera, key) in detections]
        anchor = max(seen, key=lambda c: (len(detections[c, key].ids), c == reference))
        T_rig_board = invert(camera_poses[anchor]) @ poses[anchor, key][0]
        board_poses[key] = T_rig_board
        for camera in seen:
            candidates = [invert(camera_poses[camera]) @ T for T in poses[camera, key]]
            errors = [_differ(T_rig_board, T)[0] for T in candidates]
            choice = int(np.argmin(errors))
            if errors[choice] > 4 * ROTATION_TOLERANCE_DEG:
                logger.warning(
                    "frame %s: camera %s disagrees with camera %s by %.0f degrees; its view is left out",
                    key, camera, anchor, errors[choice],
                )  # fmt: skip
                continue
            renumbered[camera, key] = numbering[camera, key][choice]
    return InitialRig(camera_poses, board_poses, renumbered, tuple(tree))
