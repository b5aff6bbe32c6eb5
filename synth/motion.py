"""Motions of several people for synthetic scenes: shapes, smooth poses over time, placement on the floor.

    motion = make_motion(body, "close", num_people=2, num_frames=30, seed=3)
    out = body(motion.params)            # vertices (P, T, N, 3)

Categories (``CATEGORIES``):

- ``single``: one person idling, gesturing or walking a few steps near the centre.
- ``natural``: people placed naturally apart (at least ``NATURAL_GAP`` between any two bodies' surfaces in
  every frame), each idling, gesturing or walking.
- ``close``: the first two people in close interaction (``poses.INTERACTIONS``: hug, hand on shoulder,
  side by side, touch), moved towards each other until the smallest surface gap over all frames is a
  random value in ``CLOSE_GAP`` (1-4 cm); more people are placed naturally apart.
- ``crossing``: people walk along parallel lines in alternating directions, passing each other in the
  middle of the sequence (their order along the walking direction swaps).
- ``enter_leave``: the last person walks in from outside the scene (or out of it); ``present`` is False
  while the root is farther than ``SCENE_RADIUS`` from the centre. The others idle or gesture.

Conventions: world z-up, metres, floor at z = 0: each frame's lowest body vertex touches the floor (the root
height is set per frame). Motions are smooth at any fps (keyframes ~1 s apart, C1 quaternion splines;
walking is a periodic gait). Deterministic for a seed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

from body.model import BodyModel
from body.params import BodyParams
from synth import poses

logger = logging.getLogger(__name__)

CATEGORIES = ("single", "natural", "close", "crossing", "enter_leave")
NATURAL_GAP = 0.25
"""Smallest surface gap (metres) between two people placed naturally apart."""
CLOSE_GAP = (0.01, 0.04)
"""Range (metres) of the smallest surface gap between two people in close interaction."""
CROSSING_GAP = 0.08
"""Smallest surface gap (metres) between two people walking past each other."""
SCENE_RADIUS = 1.5
"""A person whose root is within this horizontal distance (metres) of the centre is present."""
PLACEMENT_RADIUS = 1.0
"""People standing still are placed within this horizontal radius (metres) of the centre."""
WALK_LENGTH = 1.6
"""Longest walked distance (metres) in a sequence; long sequences walk slower."""
_VERTEX_STRIDE = 2  # every 2nd vertex for gap tests (Anny: ~1 cm apart), exact enough for the margins above


class MotionError(ValueError):
    """Bad arguments to `make_motion`; the message names the argument, expected vs received."""


@dataclass(frozen=True)
class PeopleMotion:
    """P people over T frames.

    Attributes:
        params: BodyParams with batch shape (P, T); ``shape`` is (P, 1, S), shared over frames.
        fps: frames per second.
        person_ids: (P,) stable integer ids, ``params[p]`` belongs to ``person_ids[p]``.
        present: (P, T) bool, person p is in the scene at frame t (people may enter/leave).
    """

    params: BodyParams
    fps: float
    person_ids: tuple[int, ...]
    present: np.ndarray

    @property
    def num_people(self) -> int:
        return len(self.person_ids)

    @property
    def num_frames(self) -> int:
        return int(self.present.shape[1])


@dataclass
class _Track:
    """One person's motion before placement: pose offsets and root path (the root height comes later)."""

    offsets: np.ndarray  # (T, J, 3) offsets onto the base pose
    yaw: np.ndarray  # (T,) radians about z; 0 = facing -y
    xy: np.ndarray  # (T, 2) root position, metres
    activity: str


def facing_yaw(direction: np.ndarray) -> float:
    """Yaw (radians about z) that turns the canonical facing (-y) to the horizontal `direction` (2,)."""
    return float(np.arctan2(direction[0], -direction[1]))


def sample_shapes(body: BodyModel, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, S) random adult body shapes within ``body.shape_bounds``.

    Anny phenotypes are drawn in adult ranges by name (age 0.62-0.95: 'young' to 'old' anchors); other
    models draw uniformly in the middle 60% of their bounds, or N(0, 0.8) clipped to +-2 without bounds.
    """
    names = list(body.shape_names)
    ranges = {"gender": (0.0, 1.0), "age": (0.62, 0.95), "muscle": (0.2, 0.8), "weight": (0.15, 0.8),
              "height": (0.25, 0.9), "proportions": (0.2, 0.8)}  # fmt: skip
    shapes = np.empty((count, len(names)))
    bounds = None if body.shape_bounds is None else body.shape_bounds.detach().cpu().double().numpy()
    for s, name in enumerate(names):
        if bounds is None:
            shapes[:, s] = np.clip(rng.normal(0.0, 0.8, count), -2.0, 2.0)
            continue
        lo, hi = bounds[s]
        a, b = ranges.get(name, (0.2, 0.8)) if body.name == "anny" else (0.2, 0.8)
        shapes[:, s] = lo + (hi - lo) * rng.uniform(a, b, count)
    return shapes


def _min_gap(a: np.ndarray, b: np.ndarray, frames: np.ndarray | None = None, stop_below: float = -1.0) -> float:
    """Smallest distance between the vertex sets a (T, N, 3) and b (T, M, 3) over `frames` (default all).

    Vertices are subsampled (every ``_VERTEX_STRIDE``-th); boxes farther apart than the best so far skip
    the exact search. Stops early once a distance below `stop_below` is found.
    """
    frames = np.arange(len(a)) if frames is None else frames
    best = np.inf
    for t in frames:
        pa, pb = a[t, ::_VERTEX_STRIDE], b[t, ::_VERTEX_STRIDE]
        box_gap = np.linalg.norm(np.maximum(0.0, np.maximum(pa.min(0) - pb.max(0), pb.min(0) - pa.max(0))))
        if box_gap >= best:
            continue
        distance = float(cKDTree(pa).query(pb, k=1)[0].min())
        best = min(best, distance)
        if best < stop_below:
            break
    return best


class _Builder:
    """Makes the tracks of one motion and places them; holds the body, rng and time axis."""

    def __init__(self, body: BodyModel, num_people: int, num_frames: int, fps: float, rng: np.random.Generator):
        self.body, self.rng = body, rng
        self.num_people, self.num_frames, self.fps = num_people, num_frames, fps
        self.times = np.arange(num_frames) / fps
        self.duration = max(float(self.times[-1]), 1e-6)
        self.offsets = poses.Offsets(tuple(body.pose_joint_names))
        self.shapes = sample_shapes(body, num_people, rng)
        self.base = self._base_poses()

    def _base_poses(self) -> np.ndarray:
        """(P, J, 3) relaxed standing pose of each person (from their rest keypoints)."""
        body = self.body
        params = body.neutral_params((self.num_people,), standing=False)
        params.shape = torch.as_tensor(self.shapes, dtype=body.dtype)
        with torch.no_grad():
            keypoints = body(params).keypoints.double().cpu().numpy()
        bases = []
        for p in range(self.num_people):
            named = dict(zip(body.keypoint_names, keypoints[p]))
            bases.append(poses.relaxed_base_pose(list(body.pose_joint_names), named))
        return np.stack(bases)

    # ----- tracks ------------------------------------------------------------------------------------------
    def standing(self, activity: str, yaw: float, xy=(0.0, 0.0)) -> _Track:
        make = poses.idle if activity == "idle" else poses.gesture
        turn = yaw + poses.smooth_rotations(np.array([0.0, self.duration]),
                                            np.array([[[0, 0, 0]], [[0, 0, self.rng.normal(0, 0.3)]]]),
                                            self.times)[:, 0, 2]  # fmt: skip
        return _Track(make(self.offsets, self.times, self.rng), turn, np.tile(np.asarray(xy, float), (self.num_frames, 1)), activity)

    def walking(self, start: np.ndarray, direction: np.ndarray, length: float) -> _Track:
        """Walk `length` metres from `start` along the unit `direction` over the whole sequence."""
        speed = length / self.duration if self.num_frames > 1 else 1.1
        stride_length = self.rng.uniform(1.1, 1.4) * min(1.0, max(0.35, speed / 1.1))
        offsets = poses.walk(self.offsets, self.times, self.rng, stride_hz=max(speed, 0.3) / stride_length)
        xy = start[None] + direction[None] * (speed * self.times)[:, None]
        return _Track(offsets, np.full(self.num_frames, facing_yaw(direction)), xy, "walk")

    def random_activity_track(self, allow_walk: bool = True) -> _Track:
        activity = self.rng.choice(["idle", "gesture", "walk"] if allow_walk and self.num_frames > 1 else ["idle", "gesture"])
        if activity == "walk":
            direction = self._unit(self.rng.uniform(0, 2 * np.pi))
            length = min(WALK_LENGTH * 0.6, 1.1 * self.duration)
            return self.walking(-0.5 * length * direction, direction, length)
        return self.standing(activity, self.rng.uniform(-np.pi, np.pi))

    @staticmethod
    def _unit(angle: float) -> np.ndarray:
        return np.array([np.cos(angle), np.sin(angle)])

    # ----- posing ------------------------------------------------------------------------------------------
    def params(self, tracks: list[_Track], people: list[int] | None = None) -> BodyParams:
        """BodyParams (P', T) of the tracks of persons `people` (default: all, in order) with the root at
        height 0 (`floor` lifts them)."""
        dtype, device = self.body.dtype, self.body.device
        people = list(range(len(tracks))) if people is None else people
        pose = np.stack([poses.compose(t.offsets, self.base[p]) for p, t in zip(people, tracks)])
        pose = poses.clamp_to_limits(pose, list(self.body.pose_joint_names))
        yaw = np.stack([t.yaw for t in tracks])
        xy = np.stack([t.xy for t in tracks])
        as_tensor = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)  # noqa: E731
        return BodyParams(
            shape=as_tensor(self.shapes[people][:, None]),
            pose_aa=as_tensor(pose),
            global_rot_aa=as_tensor(np.stack([np.zeros_like(yaw), np.zeros_like(yaw), yaw], -1)),
            transl=as_tensor(np.concatenate([xy, np.zeros_like(xy[..., :1])], -1)),
        )

    def floor(self, params: BodyParams) -> np.ndarray:
        """Lift every person in every frame so their lowest vertex is at z = 0; returns vertices (P, T, N, 3)."""
        with torch.no_grad():
            vertices = self.body(params).vertices.double().cpu().numpy()
        lift = -vertices[..., 2].min(-1)  # (P, T)
        params.transl[..., 2] += torch.as_tensor(lift, dtype=params.transl.dtype)
        vertices[..., 2] += lift[..., None]
        return vertices


def _shift(params: BodyParams, vertices: np.ndarray, person: int, offset: np.ndarray) -> None:
    """Move person `person` by the horizontal `offset` (2,) in both the params and the vertices."""
    params.transl[person, :, :2] += torch.as_tensor(offset, dtype=params.transl.dtype)
    vertices[person, :, :, :2] += offset


def _place_apart(builder: _Builder, params: BodyParams, vertices: np.ndarray, person: int, placed: list[int],
                 present: np.ndarray, radius: float = PLACEMENT_RADIUS) -> None:  # fmt: skip
    """Move `person` to a random spot at least NATURAL_GAP from every `placed` person in every shared frame."""
    frames_step = max(1, builder.num_frames // 12)
    for attempt in range(200):
        grow = 1.0 + attempt / 100.0  # widen the search area when the centre is crowded
        angle, r = builder.rng.uniform(0, 2 * np.pi), radius * grow * np.sqrt(builder.rng.uniform())
        target = r * builder._unit(angle)
        offset = target - vertices[person, :, :, :2].mean((0, 1))
        trial = vertices[person] + np.append(offset, 0.0)
        ok = True
        for other in placed:
            shared = np.nonzero(present[person] & present[other])[0][::frames_step]
            centres = np.linalg.norm(trial[shared, :, :2].mean(1) - vertices[other, shared, :, :2].mean(1), axis=-1)
            if len(shared) and centres.min() < 0.45:  # cheap rejection: torsos closer than ~45 cm overlap anyway
                ok = False
                break
            if len(shared) and _min_gap(trial, vertices[other], shared, stop_below=NATURAL_GAP) < NATURAL_GAP:
                ok = False
                break
        if ok:
            _shift(params, vertices, person, offset)
            return
    raise MotionError(f"make_motion: could not place person {person} {NATURAL_GAP} m apart from the others")


def _approach(vertices: np.ndarray, mover: int, anchor: int, direction: np.ndarray, gap: float) -> np.ndarray:
    """Offset (2,) along `direction` (unit, from the mover towards the anchor) that brings the mover to a
    smallest surface gap of `gap` over all frames, starting far away (sphere tracing: each step moves by
    the current excess gap, so the bodies never pass through each other)."""
    direction3 = np.append(direction, 0.0)
    num_frames = len(vertices[mover])
    offset = -2.0
    # Trace on up to 8 frames first, then on all frames (which can only move the mover back out).
    for frames in (np.unique(np.linspace(0, num_frames - 1, 8).round().astype(int)), np.arange(num_frames)):
        for _ in range(60):
            excess = _min_gap(vertices[mover] + offset * direction3, vertices[anchor], frames) - gap
            if abs(excess) < 0.001:
                break
            offset += excess
    return offset * direction


def _close(builder: _Builder) -> tuple[list[_Track], str]:
    rng = builder.rng
    kind = str(rng.choice(poses.INTERACTIONS))
    yaw = rng.uniform(-np.pi, np.pi)
    tracks = []
    for role in (0, 1):
        offsets = poses.interaction(builder.offsets, builder.times, rng, kind, role)
        partner_yaw = yaw + np.pi if kind in ("hug", "touch") and role == 1 else yaw
        tracks.append(_Track(offsets, np.full(builder.num_frames, partner_yaw), np.zeros((builder.num_frames, 2)), kind))
    return tracks, kind


def _pair_direction(kind: str, yaw: float) -> np.ndarray:
    """Unit horizontal direction from partner 1 towards partner 0 at placement."""
    facing = np.array([np.sin(yaw), -np.cos(yaw)])
    right = np.array([-np.cos(yaw), -np.sin(yaw)])  # the body's right (-x canonical) turned by yaw
    if kind in ("hug", "touch"):
        return -facing  # partner 1 stands in front of partner 0, facing back
    return -right  # partner 1 stands at partner 0's right


def make_motion(body: BodyModel, category: str, num_people: int, num_frames: int, fps: float = 30.0,
                seed: int = 0) -> PeopleMotion:  # fmt: skip
    """Random motion of `num_people` people over `num_frames` frames (see the module docstring).

    Args:
        body: the body model (its pose joints, shape space and mesh are used).
        category: one of ``CATEGORIES``.
        num_people: P >= 1 (``single``: 1; ``close``, ``crossing``: >= 2).
        num_frames: T >= 1 (T = 1: a static scene).
        fps: frames per second (> 0).
        seed: random seed; the same arguments give the same motion.
    Returns:
        PeopleMotion with params of batch shape (P, T).
    """
    if category not in CATEGORIES:
        raise MotionError(f"make_motion: argument 'category': expected one of {CATEGORIES}, got {category!r}")
    least = {"single": 1, "natural": 1, "close": 2, "crossing": 2, "enter_leave": 1}[category]
    if num_people < least or (category == "single" and num_people != 1):
        expected = "exactly 1" if category == "single" else f">= {least}"
        raise MotionError(f"make_motion: argument 'num_people' for category {category!r}: expected {expected}, got {num_people}")
    if num_frames < 1:
        raise MotionError(f"make_motion: argument 'num_frames': expected >= 1, got {num_frames}")
    if not fps > 0:
        raise MotionError(f"make_motion: argument 'fps': expected > 0, got {fps}")
    rng = np.random.default_rng(seed)
    builder = _Builder(body, num_people, num_frames, fps, rng)
    present = np.ones((num_people, num_frames), dtype=bool)

    if category in ("single", "natural"):
        tracks = [builder.random_activity_track() for _ in range(num_people)]
        params = builder.params(tracks)
        vertices = builder.floor(params)
        if category == "single":
            _shift(params, vertices, 0, rng.uniform(-0.3, 0.3, 2) - vertices[0, 0, :, :2].mean(0))
        for p in range(num_people):
            if category == "natural":
                _place_apart(builder, params, vertices, p, list(range(p)), present)
    elif category == "close":
        pair, kind = _close(builder)
        tracks = pair + [builder.random_activity_track(allow_walk=False) for _ in range(num_people - 2)]
        params = builder.params(tracks)
        vertices = builder.floor(params)
        direction = _pair_direction(kind, float(tracks[0].yaw[0]))
        offset = _approach(vertices, 1, 0, direction, rng.uniform(*CLOSE_GAP))
        _shift(params, vertices, 1, offset)
        centre = 0.5 * (vertices[0, 0, :, :2].mean(0) + vertices[1, 0, :, :2].mean(0))
        for p in (0, 1):
            _shift(params, vertices, p, -centre)
        for p in range(2, num_people):
            _place_apart(builder, params, vertices, p, list(range(p)), present, radius=1.2)
    elif category == "crossing":
        angle = rng.uniform(0, 2 * np.pi)
        along, across = builder._unit(angle), builder._unit(angle + np.pi / 2)
        length = min(WALK_LENGTH, 1.2 * builder.duration) if num_frames > 1 else 0.0
        spacing = rng.uniform(0.45, 0.7)
        tracks = []
        for p in range(num_people):
            sign = 1.0 if p % 2 == 0 else -1.0
            lateral = (p - (num_people - 1) / 2) * spacing
            tracks.append(builder.walking(lateral * across - sign * 0.5 * length * along, sign * along, length))
        params = builder.params(tracks)
        vertices = builder.floor(params)
        for p in range(1, num_people):  # widen the lanes until neighbours pass each other without touching
            for _ in range(20):
                gap = _min_gap(vertices[p], vertices[p - 1])
                if gap >= CROSSING_GAP:
                    break
                for q in range(p, num_people):
                    _shift(params, vertices, q, (CROSSING_GAP - gap + 0.02) * across)
    else:  # enter_leave
        tracks = [builder.random_activity_track(allow_walk=False) for _ in range(num_people - 1)]
        others = builder.params(tracks) if tracks else None
        vertices = builder.floor(others) if tracks else np.zeros((0, num_frames, 1, 3))
        for p in range(num_people - 1):
            _place_apart(builder, others, vertices, p, list(range(p)), present)
        enter = bool(rng.random() < 0.5)
        walker_id = num_people - 1
        for _ in range(100):
            outward = builder._unit(rng.uniform(0, 2 * np.pi))
            # cross the scene's edge mid-sequence at walking speed (a static scene: just inside)
            half = 0.5 * min(WALK_LENGTH, 1.2 * builder.duration) if num_frames > 1 else 0.0
            r_far, r_near = SCENE_RADIUS + half, SCENE_RADIUS - max(half, 0.05)
            start, end = (r_far, r_near) if enter else (r_near, r_far)
            walk = builder.walking(start * outward, (1.0 if end > start else -1.0) * outward, abs(end - start))
            walker = builder.params([walk], [walker_id])
            walker_vertices = builder.floor(walker)
            walker_present = np.linalg.norm(walk.xy, axis=1) <= SCENE_RADIUS
            shared = np.nonzero(walker_present)[0]
            if all(_min_gap(walker_vertices[0], vertices[p], shared) >= NATURAL_GAP for p in range(walker_id)):
                break
        else:
            raise MotionError("make_motion: could not find a free path for the entering/leaving person")
        tracks.append(walk)
        parts = [others, walker] if others is not None else [walker]
        params = BodyParams(*(torch.cat([getattr(part, f) for part in parts]) for f in ("shape", "pose_aa", "global_rot_aa", "transl")))
        present[walker_id] = walker_present
    logger.debug("make_motion %s: %d people, %d frames, activities %s", category, num_people, num_frames,
                 [t.activity for t in tracks])  # fmt: skip
    return PeopleMotion(params=params, fps=float(fps), person_ids=tuple(range(num_people)), present=present)
