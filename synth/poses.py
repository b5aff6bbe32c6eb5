"""Body poses for synthetic people: a relaxed standing base pose, activities as smooth joint-rotation curves
over time (idle, gesturing, walking, interactions), joint limits, and smooth rotation interpolation.

Convention: rotations are axis-angle vectors (radians) in the body's canonical axes at rest (x = body left,
y = body back, z = up), one per ``body.pose_joint_names`` entry (see ``body.params.BodyParams.pose_aa``).
An activity gives *offsets* that are composed onto the relaxed base pose: ``R_joint = R_offset @ R_base``.
Signs in these axes: a negative x rotation swings a hanging limb forward (hip/shoulder flexion, elbow
flexion), a positive x rotation bends the knee; a negative y rotation raises the left arm sideways, a
positive y rotation the right arm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

JOINT_LIMITS: dict[str, float] = {
    "left_hip": 1.7, "right_hip": 1.7, "left_knee": 2.3, "right_knee": 2.3, "left_ankle": 0.7, "right_ankle": 0.7,
    "spine1": 0.5, "spine2": 0.5, "spine3": 0.5, "neck": 0.6, "head": 0.7, "left_collar": 0.4, "right_collar": 0.4,
    "left_shoulder": 2.6, "right_shoulder": 2.6, "left_elbow": 2.4, "right_elbow": 2.4,
    "left_wrist": 1.0, "right_wrist": 1.0,
}  # fmt: skip
"""Largest rotation angle (radians) of each joint's total rotation (base + offset); larger ones are scaled down."""

ARM_HANG_ANGLE = 0.22
"""Angle (radians) between a relaxed upper arm and the vertical."""


def side_sign(joint: str) -> float:
    """+1 for left joints, -1 for right ones, 0 for the others (mirrors y/z rotations between sides)."""
    return 1.0 if joint.startswith("left_") else -1.0 if joint.startswith("right_") else 0.0


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3,) axis-angle of the smallest rotation taking direction `a` to direction `b`."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis = np.cross(a, b)
    sin, cos = np.linalg.norm(axis), float(np.dot(a, b))
    if sin < 1e-9:
        return np.zeros(3)
    return axis / sin * np.arctan2(sin, cos)


def relaxed_base_pose(joint_names: list[str], rest_keypoints: dict[str, np.ndarray]) -> np.ndarray:
    """(J, 3) axis-angle of a relaxed standing pose for a body whose rest keypoints are given (any rest pose).

    Upper arms hang at ``ARM_HANG_ANGLE`` from the vertical, legs come under the hips (feet ~ hip width).
    """
    pose = np.zeros((len(joint_names), 3))
    for side in ("left", "right"):
        sign = 1.0 if side == "left" else -1.0
        arm = rest_keypoints[f"{side}_elbow"] - rest_keypoints[f"{side}_shoulder"]
        target = np.array([sign * np.sin(ARM_HANG_ANGLE), 0.0, -np.cos(ARM_HANG_ANGLE)])
        leg = rest_keypoints[f"{side}_ankle"] - rest_keypoints[f"{side}_hip"]
        leg_target = np.array([sign * 0.03, 0.0, leg[2]])
        for joint, rotation in ((f"{side}_shoulder", _rotation_between(arm, target)),
                                (f"{side}_hip", _rotation_between(leg, leg_target))):  # fmt: skip
            if joint in joint_names:
                pose[joint_names.index(joint)] = rotation
    return pose


def compose(offsets: np.ndarray, base: np.ndarray) -> np.ndarray:
    """(..., J, 3) offsets composed onto the (J, 3) base pose: R_offset @ R_base, then clamped to JOINT_LIMITS."""
    shape = offsets.shape
    flat_offsets = Rotation.from_rotvec(offsets.reshape(-1, 3))
    flat_base = Rotation.from_rotvec(np.broadcast_to(base, shape).reshape(-1, 3).copy())
    return (flat_offsets * flat_base).as_rotvec().reshape(shape)


def clamp_to_limits(pose: np.ndarray, joint_names: list[str]) -> np.ndarray:
    """(..., J, 3) axis-angle with each joint's angle scaled down to at most its JOINT_LIMITS entry."""
    limits = np.array([JOINT_LIMITS.get(name, np.pi) for name in joint_names])
    angle = np.linalg.norm(pose, axis=-1)
    scale = np.minimum(1.0, limits / np.maximum(angle, 1e-12))
    return pose * scale[..., None]


def smooth_rotations(key_times: np.ndarray, key_rotvecs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Rotations through keyframes, C1-smooth in time (Catmull-Rom on sign-aligned unit quaternions).

    Args:
        key_times: (K,) increasing seconds.
        key_rotvecs: (K, J, 3) axis-angle keyframes.
        times: (T,) seconds; clamped to [key_times[0], key_times[-1]].
    Returns:
        (T, J, 3) axis-angle.
    """
    num_keys, num_joints = key_rotvecs.shape[:2]
    quats = Rotation.from_rotvec(key_rotvecs.reshape(-1, 3)).as_quat().reshape(num_keys, num_joints, 4)
    for k in range(1, num_keys):  # q and -q are one rotation: keep consecutive keys on the same hemisphere
        flip = np.sum(quats[k] * quats[k - 1], axis=-1) < 0
        quats[k, flip] *= -1.0
    if num_keys == 1:
        return np.broadcast_to(key_rotvecs, (len(times), num_joints, 3)).copy()
    t = np.clip(times, key_times[0], key_times[-1])
    seg = np.clip(np.searchsorted(key_times, t, side="right") - 1, 0, num_keys - 2)
    padded = np.concatenate([2 * quats[:1] - quats[1:2], quats, 2 * quats[-1:] - quats[-2:-1]])
    p0, p1, p2, p3 = (padded[seg + i] for i in range(4))
    u = ((t - key_times[seg]) / (key_times[seg + 1] - key_times[seg]))[:, None, None]
    q = 0.5 * (2 * p1 + (p2 - p0) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2 + (3 * p1 - p0 - 3 * p2 + p3) * u**3)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return Rotation.from_quat(q.reshape(-1, 4)).as_rotvec().reshape(len(times), num_joints, 3)


@dataclass(frozen=True)
class Offsets:
    """Builds per-joint offset rotations by joint name for one body's joint list."""

    joint_names: tuple[str, ...]

    def zeros(self, *batch: int) -> np.ndarray:
        return np.zeros((*batch, len(self.joint_names), 3))

    def set(self, pose: np.ndarray, joint: str, rotvec) -> None:
        """Set `joint`'s offset in `pose` (..., J, 3); joints the body lacks are skipped."""
        if joint in self.joint_names:
            pose[..., self.joint_names.index(joint), :] = rotvec


def _keyframed(offsets: Offsets, times: np.ndarray, rng: np.random.Generator, period: float, make_key) -> np.ndarray:
    """(T, J, 3) offsets through keyframes every ~`period` s, each from make_key(rng) -> (J, 3)."""
    duration = max(float(times[-1]) if len(times) else 0.0, 1e-3)
    count = max(2, int(np.ceil(duration / period)) + 1)
    key_times = np.linspace(0.0, duration, count) + rng.uniform(-0.15, 0.15, count) * period
    key_times[0], key_times[-1] = 0.0, duration
    key_times = np.sort(key_times)
    keys = np.stack([make_key(rng) for _ in range(count)])
    return smooth_rotations(key_times, keys, times)


def idle(offsets: Offsets, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, J, 3) standing idle: small sways of spine, head and arms, weight shifts."""

    def key(r: np.random.Generator) -> np.ndarray:
        pose = offsets.zeros()
        for joint, scale in (("spine1", 0.05), ("spine2", 0.04), ("neck", 0.08), ("head", 0.15)):
            offsets.set(pose, joint, r.normal(0.0, scale, 3))
        for side in ("left", "right"):
            s = side_sign(side + "_")
            offsets.set(pose, f"{side}_shoulder", [r.normal(-0.05, 0.12), s * r.uniform(-0.15, 0.05), r.normal(0, 0.1)])
            offsets.set(pose, f"{side}_elbow", [-r.uniform(0.05, 0.5), 0.0, s * r.normal(0.0, 0.1)])
            offsets.set(pose, f"{side}_wrist", r.normal(0.0, 0.1, 3))
        shift = r.normal(0.0, 0.04)
        offsets.set(pose, "left_hip", [0.0, shift, 0.0])
        offsets.set(pose, "right_hip", [0.0, shift, 0.0])
        return pose

    return _keyframed(offsets, times, rng, rng.uniform(0.8, 1.4), key)


def gesture(offsets: Offsets, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, J, 3) standing and gesturing: arms raised forward or sideways, elbows bent, head turns."""
    base = idle(offsets, times, rng)

    def key(r: np.random.Generator) -> np.ndarray:
        pose = offsets.zeros()
        for side in ("left", "right"):
            s = side_sign(side + "_")
            if r.random() < 0.6:
                flexion, abduction = -r.uniform(0.2, 1.5), r.uniform(0.0, 1.1)
                offsets.set(pose, f"{side}_shoulder", [flexion, -s * abduction, s * r.normal(0.0, 0.2)])
                offsets.set(pose, f"{side}_elbow", [-r.uniform(0.2, 1.8), 0.0, s * r.normal(0.0, 0.2)])
                offsets.set(pose, f"{side}_wrist", r.normal(0.0, 0.25, 3))
        offsets.set(pose, "head", [r.normal(0, 0.1), 0.0, r.normal(0, 0.3)])
        return pose

    arms = _keyframed(offsets, times, rng, rng.uniform(0.6, 1.0), key)
    return _add(base, arms)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Compose two offset curves (..., J, 3): R_b @ R_a."""
    shape = a.shape
    flat = lambda r: Rotation.from_rotvec(np.array(r, dtype=np.float64).reshape(-1, 3))  # noqa: E731  (copies)
    return (flat(b) * flat(a)).as_rotvec().reshape(shape)


def walk(offsets: Offsets, times: np.ndarray, rng: np.random.Generator, stride_hz: float) -> np.ndarray:
    """(T, J, 3) a walking gait at `stride_hz` strides per second (one stride = two steps)."""
    phase = 2.0 * np.pi * stride_hz * times + rng.uniform(0.0, 2.0 * np.pi)
    amplitude = rng.uniform(0.3, 0.42)
    pose = offsets.zeros(len(times))
    for side, shift in (("left", 0.0), ("right", np.pi)):
        s = side_sign(side + "_")
        p = phase + shift
        swing = np.maximum(0.0, np.cos(p)) ** 2  # swing phase of this leg (hip moving forward)
        hip = np.stack([-amplitude * np.sin(p) - 0.05, np.zeros_like(p), np.zeros_like(p)], -1)
        offsets.set(pose, f"{side}_hip", hip)
        offsets.set(pose, f"{side}_knee", np.stack([0.1 + 0.75 * swing, 0 * p, 0 * p], -1))
        offsets.set(pose, f"{side}_ankle", np.stack([-0.15 * swing + 0.1 * np.sin(p), 0 * p, 0 * p], -1))
        arm = np.stack([0.6 * amplitude * np.sin(p), -s * 0.05 + 0 * p, 0 * p], -1)
        offsets.set(pose, f"{side}_shoulder", arm)
        offsets.set(pose, f"{side}_elbow", np.stack([-0.25 - 0.15 * np.maximum(0, -np.sin(p)), 0 * p, 0 * p], -1))
    offsets.set(pose, "spine2", np.stack([0.04 + 0 * phase, 0 * phase, 0.06 * np.sin(phase)], -1))
    offsets.set(pose, "spine3", np.stack([0 * phase, 0 * phase, -0.05 * np.sin(phase)], -1))
    return _add(pose, 0.5 * idle(offsets, times, rng))


INTERACTIONS = ("hug", "hand_on_shoulder", "side_by_side", "touch")
"""Close interactions of two people (see `interaction`)."""


def interaction(offsets: Offsets, times: np.ndarray, rng: np.random.Generator, kind: str, role: int) -> np.ndarray:
    """(T, J, 3) one partner's offsets in a close interaction (`role` 0 = the active partner, 1 = the other).

    hug: both face each other, arms forward and around the partner. hand_on_shoulder: side by side, the
    active partner's inner (right) arm raised onto the other's shoulder. side_by_side: side by side, arms
    hanging, shoulders close. touch: facing, the active partner reaches out to the other's arm or chest.
    """
    base = 0.5 * idle(offsets, times, rng)
    pose = offsets.zeros()
    if kind == "hug":
        for side in ("left", "right"):
            s = side_sign(side + "_")
            high = (role == 0) == (side == "left")
            offsets.set(pose, f"{side}_shoulder", [-rng.uniform(1.1, 1.4), -s * (0.5 if high else 0.25), s * 0.3])
            offsets.set(pose, f"{side}_elbow", [-rng.uniform(0.3, 0.6), 0.0, s * rng.uniform(0.8, 1.2)])
        offsets.set(pose, "head", [0.0, 0.0, rng.choice([-1, 1]) * 0.5])
    elif kind == "hand_on_shoulder" and role == 0:
        offsets.set(pose, "right_shoulder", [-0.25, rng.uniform(1.2, 1.45), 0.0])
        offsets.set(pose, "right_elbow", [-rng.uniform(0.2, 0.5), 0.0, 0.0])
        offsets.set(pose, "right_wrist", [0.0, 0.4, 0.0])
    elif kind == "touch" and role == 0:
        side = rng.choice(["left", "right"])
        s = side_sign(side + "_")
        offsets.set(pose, f"{side}_shoulder", [-rng.uniform(1.0, 1.35), -s * rng.uniform(0.0, 0.3), 0.0])
        offsets.set(pose, f"{side}_elbow", [-rng.uniform(0.05, 0.35), 0.0, 0.0])
    static = np.broadcast_to(pose, base.shape)
    return _add(base, static)
