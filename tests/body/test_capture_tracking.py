"""Tracking through detector failures: duplicates, lost and found people, joint filtering; association of split
and leg-swapped detections (harder detector simulator)."""

from __future__ import annotations

import numpy as np
import torch

from body.association import Associator, Person3D
from body.keypoint_io import FrameDetections
from body.keypoint_layouts import get_layout
from body.tracking import FILLED_CONFIDENCE, TrackerConfig, filter_joints, track_people
from calibration.ring_rig import ring_rig
from capture_helpers import QUIET, walking_people
from synth.detector_sim import DetectorFailures, simulate_detections

NAMES = list(get_layout("body25").keypoints)
POSE = np.random.default_rng(0).normal(0.0, 0.3, (25, 3))  # a fixed 'skeleton' of 25 joints around its root


def _person(x: float, y: float = 0.0, known: np.ndarray | None = None) -> Person3D:
    confidence = np.ones(25) if known is None else known.astype(float)
    keypoints = (POSE + [x, y, 1.0]) * confidence[:, None]
    return Person3D(keypoints, confidence, {0: 0, 1: 0}, np.zeros((2, 25, 2)), np.ones((2, 25)), 1.0)


def test_a_person_lost_for_longer_than_max_missed_keeps_its_id():
    frames = list(range(60))
    people = [[_person(2.0, 0.0)] + ([] if 20 <= f < 45 else [_person(0.005 * f, 0.0)]) for f in frames]
    tracks = track_people(frames, people, TrackerConfig(max_missed=10))
    assert len(tracks) == 2
    walker = next(t for t in tracks if 0 in t.people and t.people[0].keypoints[0, 0] < 1.0)
    assert sorted(walker.people) == [f for f in frames if not 20 <= f < 45]
    unstitched = track_people(frames, people, TrackerConfig(max_missed=10, stitch_frames=0))
    assert len(unstitched) == 3, "without stitching the walker comes back under a new id"


def test_stitching_does_not_join_different_people():
    frames = list(range(40))
    people = [[_person(0.0)] if f < 20 else [_person(1.5)] for f in frames]  # one leaves, another appears 1.5 m off
    assert len(track_people(frames, people)) == 2


def test_a_person_triangulated_twice_is_one_track():
    upper = np.arange(25) < 13
    frames = list(range(30))
    people = [[_person(0.0), _person(0.0, known=upper)] if f % 3 == 0 else [_person(0.0)] for f in frames]
    tracks = track_people(frames, people)
    assert len(tracks) == 1 and sorted(tracks[0].people) == frames
    assert all((tracks[0].people[f].confidence > 0).sum() == 25 for f in frames), "the partial copy was kept"


def test_filter_joints_removes_a_spike_fills_a_gap_and_keeps_steady_motion():
    frames = list(range(20))
    people = []
    for f in frames:
        person = _person(0.02 * f)  # 0.6 m/s at 30 frames/s
        if f == 8:
            person.keypoints[4] += [0.3, 0.0, 0.0]  # a one-frame wrong wrist
        if f in (12, 13):
            person.keypoints[7], person.confidence[7] = 0.0, 0.0  # not triangulated
        people.append([person])
    (track,) = track_people(frames, people, TrackerConfig(filter_window=0))
    truth = np.stack([POSE + [0.02 * f, 0.0, 1.0] for f in frames])
    filter_joints(track, TrackerConfig())
    keypoints = np.stack([track.people[f].keypoints for f in frames])
    assert np.linalg.norm(keypoints[8, 4] - truth[8, 4]) < 0.01
    assert np.abs(keypoints - truth).max() < 0.01, "steady motion moved"
    assert [track.people[f].confidence[7] for f in (12, 13)] == [FILLED_CONFIDENCE] * 2


def test_association_joins_split_halves_and_unswaps_legs(anny_body):
    params = walking_people(anny_body, [[-0.8, 0.0], [0.8, 0.2]], [[0, 0]] * 2, frames=1)
    params.global_rot_aa[:, 0, 2] = torch.tensor([0.3, 2.0])
    with torch.no_grad():
        points = anny_body.keypoints(params, NAMES)[:, 0].double().numpy()
    rig = list(ring_rig(5, radius=4.0, fov_deg=60.0))
    associator = Associator(rig, "body25")
    rng = np.random.default_rng(2)
    for failures in (DetectorFailures(split_rate=0.3), DetectorFailures(leg_swap_rate=0.3)):
        complete = 0
        for _ in range(10):
            views = simulate_detections(points, rig, "body25", QUIET, rng, failures)
            frame = FrameDetections(0, "body25", [v.keypoints for v in views], [v.confidence for v in views])
            people = associator(frame)
            for person in people:  # every joint near its truth: no mix of people, no mirrored legs (>= 15 cm off)...
                truth = points[np.argmin(np.linalg.norm(points[:, 1] - person.keypoints[1], axis=-1))]
                seen = person.confidence > 0
                assert np.linalg.norm(person.keypoints[seen] - truth[seen], axis=-1).max() < 0.06
            complete += len(people) == 2 and all((p.confidence > 0).all() for p in people)
        assert complete >= 8, "...and both people are whole in most frames"  # upper / lower halves cluster apart
