"""Tracking people over time with stable integer ids (the person ids of every later stage).

Each track remembers, per joint, its last triangulated position and a velocity (median joint displacement per
frame, smoothed). Frame by frame, its keypoints are predicted at the new frame (constant velocity), the cost of
a track-person pair is the mean 3D distance over the joints both know (metres), and the Hungarian algorithm
assigns people to tracks; pairs costing more than ``max_distance`` (scaled up with the frames since the track was
last seen) are not matched. Unmatched people start new tracks; a track that has missed more than ``max_missed``
frames ends, so short occlusions are bridged and people can leave and enter. Tracks seen in fewer than
``min_length`` frames are dropped at the end (spurious associations), and ids are renumbered 0, 1, ... in
order of first appearance.
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


def match_cost(track: Track, person: Person3D, frame: int, min_common: int) -> float:
    """Mean 3D distance (metres) between the track's prediction at ``frame`` and ``person`` over common joints."""
    predicted = track.predict(frame)
    seen = person.confidence > 0
    common = seen & track.known
    if common.sum() >= min_common:
        return float(np.linalg.norm(predicted[common] - person.keypoints[common], axis=-1).mean())
    return float(np.linalg.norm(predicted[track.known].mean(0) - person.keypoints[seen].mean(0)))


class Tracker:
    """Online tracker: call :meth:`update` with each frame's people in increasing frame order, then :meth:`tracks`."""

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 0

    def update(self, frame: int, people: list[Person3D]) -> list[int]:
        """Assign this frame's people to tracks; returns the (provisional) track id of each person."""
        config = self.config
        for track in [t for t in self.active if frame - t.last_frame > config.max_missed]:
            self.active.remove(track)
            self.finished.append(track)
        cost = np.full((len(self.active), len(people)), np.inf)
        for t, track in enumerate(self.active):
            gate = config.max_distance + config.distance_growth * (frame - track.last_frame - 1)
            for p, person in enumerate(people):
                value = match_cost(track, person, frame, config.min_common_joints)
                if value <= gate:
                    cost[t, p] = value
        ids = [-1] * len(people)
        if cost.size:
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
            for t, p in zip(rows, cols):
                if np.isfinite(cost[t, p]):
                    self.active[t].update(frame, people[p], config.velocity_smoothing)
                    ids[p] = self.active[t].id
        for p, person in enumerate(people):
            if ids[p] < 0:
                track = Track(self._next_id)
                self._next_id += 1
                track.update(frame, person, config.velocity_smoothing)
                self.active.append(track)
                ids[p] = track.id
        return ids

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
    """Track the people of ``frames`` (ascending) -> tracks with stable ids (see :class:`Tracker`)."""
    tracker = Tracker(config)
    for frame, frame_people in zip(frames, people):
        tracker.update(frame, frame_people)
    return tracker.tracks(num_frames=len(frames))


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
