"""Tracking people over time with stable integer ids (the person ids of every later stage).

Each track remembers, per joint, its last triangulated position and a velocity (median joint displacement per
frame, smoothed). Frame by frame, its keypoints are predicted at the new frame (constant velocity), the cost of
a track-person pair is the median 3D distance over the joints both know (metres; a wrong limb, or a lower body
taken from a neighbour, does not move it), and the Hungarian algorithm
assigns people to tracks; pairs costing more than ``max_distance`` (scaled up with the frames since the track was
last seen) are not matched. Unmatched people start new tracks; a track that has missed more than ``max_missed``
frames ends, so short occlusions are bridged and people can leave and enter. Confirmed tracks (matched in
``confirm_frames`` frames) are assigned first, the younger ones then get the people left; a person left over
that lies within ``duplicate_distance`` of a person just matched, or of a confirmed track, is a duplicate (a
part of someone triangulated twice) and is not tracked.

At the end (:func:`track_people`), looking back over the whole sequence:

1. Stitching: a track that starts while or shortly after another ends (up to ``stitch_frames`` later, at most
   ``stitch_overlap`` frames in common) continues it when the two agree: the median joint distance between the
   first's last pose and the second's first pose within ``max_distance`` (+ ``stitch_speed`` per frame between
   them) and, in the common frames, the two people within ``duplicate_distance`` (one person seen twice; the
   one with more joints stays). Cheapest pairs first, repeated, so a track lost and found again keeps its id.
2. Tracks seen in fewer than ``min_length`` frames are dropped (spurious associations), and ids are renumbered
   0, 1, ... in order of first appearance.
3. Joint filtering (:func:`filter_joints`, ``filter_window`` > 0): per track and joint, a position further than
   ``outlier_distance`` from what its neighbours in time predict is dropped, gaps of up to ``filter_window``
   frames are filled by linear interpolation (confidence ``FILLED_CONFIDENCE``), and the positions are smoothed
   by a One-Euro filter run forwards and backwards (averaged, so no lag).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from body.association import Person3D


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of :class:`Tracker`."""

    max_distance: float = 0.4
    """Largest mean joint distance (metres) between a track's prediction and a person to match them."""
    distance_growth: float = 0.1
    """Added to ``max_distance`` per frame the track has been missing (metres)."""
    max_missed: int = 10
    """A track ends after this many frames without a match."""
    min_length: int = 3
    """Tracks matched in fewer frames are dropped at the end (capped at the sequence length, so a 1- or 2-frame
    capture still keeps the people seen in all its frames)."""
    velocity_smoothing: float = 0.5
    """Weight of the newest displacement in the velocity's running average (1 = no smoothing)."""
    min_common_joints: int = 3
    """Fewer common joints than this: the cost uses the centroids of both instead."""
    confirm_frames: int = 5
    """Tracks matched in this many frames are confirmed: they choose their people before younger tracks, and
    an unmatched person near one of them is a duplicate, not a new track."""
    stitch_frames: int = 60
    """Largest gap (frames) between a track's end and another's start for stitching them; 0 disables stitching."""
    stitch_overlap: int = 8
    """Most frames two stitched tracks may share."""
    stitch_speed: float = 0.02
    """Stitching gate: ``max_distance`` + this (metres) per frame between the two tracks."""
    duplicate_distance: float = 0.2
    """Largest median joint distance (metres) of two people in the same frame counted as one person seen twice."""
    filter_window: int = 5
    """Joint filtering: the longest gap filled (frames); 0 disables the filtering."""
    outlier_distance: float = 0.12
    """Joint filtering: a position this far (metres) from its neighbours' prediction is dropped."""
    min_cutoff: float = 0.3
    """One-Euro filter: cutoff frequency at rest, cycles per frame (see :func:`one_euro`)."""
    beta: float = 5.0
    """One-Euro filter: speed coefficient (cutoff grows by beta x speed in metres per frame)."""


@dataclass
class Track:
    """One tracked person: ``people[frame]`` is its triangulation in that frame."""

    id: int
    people: dict[int, Person3D] = field(default_factory=dict)
    positions: np.ndarray | None = None  # (K, 3) last known position of each joint
    known: np.ndarray | None = None  # (K,) bool
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))  # metres per frame
    last_frame: int = -1

    def predict(self, frame: int) -> np.ndarray:
        """(K, 3) joints extrapolated to ``frame`` at constant velocity."""
        return self.positions + self.velocity * (frame - self.last_frame)

    def update(self, frame: int, person: Person3D, smoothing: float) -> None:
        seen = person.confidence > 0
        if self.positions is None:
            self.positions, self.known = np.zeros_like(person.keypoints), np.zeros(len(seen), dtype=bool)
        common = seen & self.known
        if common.any() and frame > self.last_frame:
            step = np.median(person.keypoints[common] - self.positions[common], axis=0) / (frame - self.last_frame)
            self.velocity = smoothing * step + (1.0 - smoothing) * self.velocity
        # Joints not seen now move with the body, so the next prediction stays consistent.
        shift = self.velocity * (frame - self.last_frame) if self.last_frame >= 0 else 0.0
        self.positions = np.where(seen[:, None], person.keypoints, self.positions + shift)
        self.known = self.known | seen
        self.people[frame] = person
        self.last_frame = frame


def pose_distance(a: np.ndarray, known_a: np.ndarray, b: np.ndarray, known_b: np.ndarray, min_common: int) -> float:
    """Median 3D distance (metres) of poses a, b (K, 3) over the joints both know (``known_a``, ``known_b`` (K,));
    with fewer than ``min_common`` of them, the distance of their centroids."""
    common = known_a & known_b
    if common.sum() >= min_common:
        return float(np.median(np.linalg.norm(a[common] - b[common], axis=-1)))
    return float(np.linalg.norm(a[known_a].mean(0) - b[known_b].mean(0)))


def match_cost(track: Track, person: Person3D, frame: int, min_common: int) -> float:
    """Median 3D distance (metres) between the track's prediction at ``frame`` and ``person`` (:func:`pose_distance`)."""
    return pose_distance(track.predict(frame), track.known, person.keypoints, person.confidence > 0, min_common)


class Tracker:
    """Online tracker: call :meth:`update` with each frame's people in increasing frame order, then :meth:`tracks`."""

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 0

    def update(self, frame: int, people: list[Person3D]) -> list[int]:
        """Assign this frame's people to tracks; returns the (provisional) track id of each person (-1: a
        duplicate of a tracked person, left out)."""
        config = self.config
        for track in [t for t in self.active if frame - t.last_frame > config.max_missed]:
            self.active.remove(track)
            self.finished.append(track)
        ids = [-1] * len(people)
        confirmed = [t for t in self.active if len(t.people) >= config.confirm_frames]
        tentative = [t for t in self.active if len(t.people) < config.confirm_frames]
        for tracks in (confirmed, tentative):  # established tracks choose first
            free = [p for p in range(len(people)) if ids[p] < 0]
            cost = np.full((len(tracks), len(free)), np.inf)
            for t, track in enumerate(tracks):
                gate = config.max_distance + config.distance_growth * (frame - track.last_frame - 1)
                for column, p in enumerate(free):
                    value = match_cost(track, people[p], frame, config.min_common_joints)
                    if value <= gate:
                        cost[t, column] = value
            if cost.size:
                rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
                for t, column in zip(rows, cols):
                    if np.isfinite(cost[t, column]):
                        tracks[t].update(frame, people[free[column]], config.velocity_smoothing)
                        ids[free[column]] = tracks[t].id
        matched = [people[p] for p in range(len(people)) if ids[p] >= 0]
        left = sorted((p for p in range(len(people)) if ids[p] < 0), key=lambda p: -(people[p].confidence > 0).sum())
        for p in left:  # the fullest first: a part of a new person is its duplicate
            if self._duplicate(people[p], matched, confirmed, frame):
                continue
            track = Track(self._next_id)
            self._next_id += 1
            track.update(frame, people[p], config.velocity_smoothing)
            self.active.append(track)
            ids[p] = track.id
            matched.append(people[p])
        return ids

    def _duplicate(self, person: Person3D, matched: list[Person3D], confirmed: list[Track], frame: int) -> bool:
        """Whether an unmatched person lies within ``duplicate_distance`` of a person matched this frame or of a
        confirmed track's prediction (a part of a person triangulated twice)."""
        seen, limit, common = person.confidence > 0, self.config.duplicate_distance, self.config.min_common_joints
        if any(pose_distance(person.keypoints, seen, other.keypoints, other.confidence > 0, common) < limit
               for other in matched):  # fmt: skip
            return True
        return any(pose_distance(person.keypoints, seen, t.predict(frame), t.known, common) < limit for t in confirmed)

    def tracks(self, num_frames: int | None = None) -> list[Track]:
        """All tracks with at least ``min(min_length, num_frames)`` frames, ids renumbered 0, 1, ... by first frame.

        ``num_frames``: length of the tracked sequence (None: no cap on ``min_length``).
        """
        min_length = self.config.min_length if num_frames is None else min(self.config.min_length, num_frames)
        kept = [t for t in self.finished + self.active if len(t.people) >= min_length]
        kept.sort(key=lambda t: (min(t.people), t.id))
        for new_id, track in enumerate(kept):
            track.id = new_id
        return kept


def track_people(
    frames: list[int], people: list[list[Person3D]], config: TrackerConfig = TrackerConfig()
) -> list[Track]:
    """Track the people of ``frames`` (ascending) -> tracks with stable ids (see :class:`Tracker` and the module
    docstring for stitching and joint filtering)."""
    tracker = Tracker(config)
    for frame, frame_people in zip(frames, people):
        tracker.update(frame, frame_people)
    if config.stitch_frames > 0:
        tracker.finished, tracker.active = stitch_tracks(tracker.finished + tracker.active, config), []
    tracks = tracker.tracks(num_frames=len(frames))
    if config.filter_window > 0:
        for track in tracks:
            filter_joints(track, config)
    return tracks


def _stitch_cost(first: Track, second: Track, config: TrackerConfig) -> float:
    """Cost (metres) of continuing ``first`` by ``second`` (module docstring, step 1); inf when they disagree."""
    common = sorted(set(first.people) & set(second.people))
    if len(common) > config.stitch_overlap or min(second.people) <= min(first.people):
        return np.inf
    for frame in common:
        a, b = first.people[frame], second.people[frame]
        distance = pose_distance(a.keypoints, a.confidence > 0, b.keypoints, b.confidence > 0, config.min_common_joints)
        if distance > config.duplicate_distance:
            return np.inf
    end = max(f for f in first.people if f < min(second.people))
    start = min(second.people)
    gap = start - end
    if gap > config.stitch_frames:
        return np.inf
    a, b = first.people[end], second.people[start]
    distance = pose_distance(a.keypoints, a.confidence > 0, b.keypoints, b.confidence > 0, config.min_common_joints)
    gate = config.max_distance + config.stitch_speed * (gap - 1)
    return distance if distance <= gate else np.inf


def stitch_tracks(tracks: list[Track], config: TrackerConfig) -> list[Track]:
    """Tracks with the fragments of one person joined (module docstring, step 1), cheapest pair first."""
    tracks = list(tracks)
    while True:
        best, pair = np.inf, None
        for a in tracks:
            for b in tracks:
                if a is not b and (cost := _stitch_cost(a, b, config)) < best:
                    best, pair = cost, (a, b)
        if pair is None:
            return tracks
        first, second = pair
        for frame, person in second.people.items():
            own = first.people.get(frame)
            if own is None or (person.confidence > 0).sum() > (own.confidence > 0).sum():
                first.people[frame] = person
        first.people = dict(sorted(first.people.items()))
        tracks.remove(second)


FILLED_CONFIDENCE = 0.05
"""Confidence of joints filled in by :func:`filter_joints` (the fit leans on them little)."""


def one_euro(values: np.ndarray, min_cutoff: float, beta: float, d_cutoff: float = 1.0) -> np.ndarray:
    """One-Euro filter (Casiez et al. 2012) of a sequence (T, D) sampled once per frame; cutoffs in cycles per
    frame (``min_cutoff`` at rest, + ``beta`` x speed per frame), ``d_cutoff`` for the speed itself."""

    def alpha(cutoff):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau)

    out = np.empty_like(values)
    out[0], speed = values[0], np.zeros(values.shape[1:])
    for t in range(1, len(values)):
        raw_speed = values[t] - out[t - 1]
        speed = speed + alpha(d_cutoff) * (raw_speed - speed)
        a = alpha(min_cutoff + beta * np.linalg.norm(speed))
        out[t] = out[t - 1] + a * (values[t] - out[t - 1])
    return out


def _consistent(times: np.ndarray, points: np.ndarray, distance: float) -> np.ndarray:
    """(N,) True where a joint's position (``points`` (N, 3) at ``times`` (N,)) lies within ``distance`` of the
    median of its predictions from its neighbours in time: linear through the two before, the two after, and
    between the one before and the one after (and the second before and after), so steady motion passes and
    one- or two-frame jumps do not."""
    count = len(times)
    ok = np.ones(count, dtype=bool)
    for i in range(count):
        guesses = []
        for a, b in ((i - 2, i - 1), (i + 1, i + 2), (i - 1, i + 1), (i - 2, i + 2)):
            if 0 <= a < count and 0 <= b < count:
                weight = (times[i] - times[a]) / (times[b] - times[a])
                guesses.append(points[a] + weight * (points[b] - points[a]))
        if len(guesses) >= 2:
            ok[i] = np.linalg.norm(points[i] - np.median(guesses, axis=0)) <= distance
    return ok


def filter_joints(track: Track, config: TrackerConfig) -> None:
    """Outlier removal, gap filling and zero-lag One-Euro smoothing of a track's joints, in place (module
    docstring, step 3). Only the frames where the track has a person change; their keypoints and confidences."""
    frames = np.array(sorted(track.people))
    people = [track.people[f] for f in frames]
    xyz = np.stack([p.keypoints for p in people])  # (T, K, 3)
    known = np.stack([p.confidence > 0 for p in people])  # (T, K)
    window = config.filter_window
    for joint in range(xyz.shape[1]):
        rows = np.flatnonzero(known[:, joint])
        if len(rows) < 3:
            continue
        good = rows[_consistent(frames[rows], xyz[rows, joint], config.outlier_distance)]
        if len(good) < 2:
            continue
        near = np.abs(frames[:, None] - frames[good][None]).min(1) <= window
        inside = (frames >= frames[good[0]]) & (frames <= frames[good[-1]]) & near
        for axis in range(3):
            xyz[inside, joint, axis] = np.interp(frames[inside], frames[good], xyz[good, joint, axis])
        segment = np.flatnonzero(inside)
        smooth = 0.5 * (one_euro(xyz[segment, joint], config.min_cutoff, config.beta)
                        + one_euro(xyz[segment, joint][::-1], config.min_cutoff, config.beta)[::-1])  # fmt: skip
        filled = inside & ~np.isin(np.arange(len(frames)), good)
        for t, value in zip(segment, smooth):
            people[t].keypoints[joint] = value
        for t in np.flatnonzero(filled):
            people[t].confidence[joint] = FILLED_CONFIDENCE if not known[t, joint] else people[t].confidence[joint]
        for t in np.flatnonzero(~inside & known[:, joint]):
            people[t].confidence[joint], people[t].keypoints[joint] = 0.0, 0.0


def count_id_switches(truth_ids: list[list[int]], track_ids: list[list[int]]) -> int:
    """MOT-style identity switches: per frame, the ground-truth id of each reported person (``truth_ids``, -1 =
    no match) and its track id (``track_ids``); a switch is a ground-truth person reported under a track id other
    than the one it had when last matched."""
    last: dict[int, int] = {}
    switches = 0
    for truth, tracks in zip(truth_ids, track_ids):
        for gt, track in zip(truth, tracks):
            if gt < 0:
                continue
            if gt in last and last[gt] != track:
                switches += 1
            last[gt] = track
    return switches
