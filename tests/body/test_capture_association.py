"""Detector simulator, cross-view association + triangulation, and tracking on small synthetic scenes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from body.association import AssociationConfig, Associator, Person3D, cluster_detections
from multihuman_eval.body_capture import evaluate_capture, match_to_truth
from synth.body_capture import simulate_capture
from synth.detector_sim import DetectorNoise, simulate_detections
from body.keypoint_io import FrameDetections
from body.keypoint_layouts import get_layout
from body.tracking import count_id_switches, track_people
from calibration.ring_rig import ring_rig
from capture_helpers import QUIET, walking_people

NAMES = list(get_layout("body25").keypoints)


@pytest.fixture(scope="module")
def standing(anny_body) -> np.ndarray:
    """(4, 25, 3) BODY_25 keypoints of 4 people standing apart, facing different ways."""
    params = walking_people(anny_body, [[0, 0], [0.9, 0.4], [-0.8, 0.5], [0.2, -0.9]], [[0, 0]] * 4, frames=1)
    params.global_rot_aa[:, 0, 2] = torch.tensor([0.0, 1.5, 3.0, -2.0])
    with torch.no_grad():
        return anny_body.keypoints(params, NAMES)[:, 0].double().numpy()


def _frame(views, frame=0) -> FrameDetections:
    return FrameDetections(frame, "body25", [v.keypoints for v in views], [v.confidence for v in views])


def test_simulator_without_noise_projects_exactly(standing):
    rig = ring_rig(3)
    views = simulate_detections(standing, list(rig), "body25", QUIET)
    for camera, view in zip(rig, views):
        assert sorted(view.person) == [0, 1, 2, 3]
        for keypoints, confidence, person in zip(view.keypoints, view.confidence, view.person):
            np.testing.assert_allclose(keypoints, camera.project(standing[person]), atol=1e-9)
            inside = (keypoints >= 0).all(-1) & (keypoints <= camera.width - 1).all(-1)
            np.testing.assert_allclose(confidence, np.where(inside, 0.95, 0.0))  # outside the image: missed


def test_simulator_noise_is_as_documented(standing):
    rig = ring_rig(6)
    rng = np.random.default_rng(1)
    noise = DetectorNoise(swap_rate=0.3, false_rate=1.0, limb_radius=0.0)
    errors, confidences, ghosts, swaps = [], [], 0, 0
    for _ in range(20):
        for camera, view in zip(rig, simulate_detections(standing, list(rig), "body25", noise, rng)):
            ghosts += int((view.person < 0).sum())
            swaps += int(view.swapped.sum())
            for keypoints, conf, person, swapped in zip(view.keypoints, view.confidence, view.person, view.swapped):
                if person >= 0 and not swapped:
                    seen = conf > 0
                    errors.append(np.linalg.norm(keypoints[seen] - camera.project(standing[person])[seen], axis=-1))
                    confidences.append(conf[seen])
    errors, confidences = np.concatenate(errors), np.concatenate(confidences)
    # 120 false detections drawn; those shifted out of the image (fewer than 3 joints inside) are dropped
    assert 50 < ghosts <= 160 and 0.2 < swaps / (20 * 6 * 4) < 0.4
    assert 1.5 < np.median(errors) < 3.5  # 2 px jitter: median norm of a 2D Gaussian is 1.18 sigma = 2.4 px
    assert np.corrcoef(errors, confidences)[0, 1] < -0.5  # confidence tracks the error
    assert confidences[errors > 20].mean() < 0.2 < 0.8 < confidences[errors < 3].mean()


def test_association_finds_everyone_without_knowing_how_many(standing):
    rig = ring_rig(5)
    associator = Associator(list(rig), "body25")
    rng = np.random.default_rng(2)
    for count in (1, 2, 4):
        views = simulate_detections(standing[:count], list(rig), "body25", DetectorNoise(false_rate=0.5), rng)
        people = associator(_frame(views))
        assert len(people) == count
        for person in people:
            owners = {int(views[v].person[d]) for v, d in person.detections.items()}
            assert len(owners) == 1 and -1 not in owners and person.num_views >= 4
        matches = match_to_truth(standing[:count], np.ones(count, bool), [p.keypoints for p in people],
                                 [p.confidence for p in people])  # fmt: skip
        assert sorted(matches) == list(range(count))
        for person, gt in zip(people, matches):
            seen = person.confidence > 0
            assert np.linalg.norm(person.keypoints[seen] - standing[gt, seen], axis=-1).mean() < 0.02


def test_association_needs_two_views(standing):
    rig = ring_rig(4)
    views = simulate_detections(standing[:2], list(rig), "body25", QUIET)
    frame = _frame(views)
    for v in range(1, 4):  # only view 0 sees anybody
        frame.keypoints[v], frame.confidence[v] = frame.keypoints[v][:0], frame.confidence[v][:0]
    assert Associator(list(rig), "body25")(frame) == []
    frame = _frame(views)
    for v in range(2, 4):  # two views: both people, from 2 views each
        frame.keypoints[v], frame.confidence[v] = frame.keypoints[v][:0], frame.confidence[v][:0]
    people = Associator(list(rig), "body25")(frame)
    assert len(people) == 2 and all(p.num_views == 2 for p in people)


def test_clustering_is_cycle_consistent():
    """A~B and B~C are strong but A and C disagree: A, B, C must not end in one cluster."""
    views = np.array([0, 1, 2])
    affinity = np.array([[-np.inf, 0.9, 0.0], [0.9, -np.inf, 0.8], [0.0, 0.8, -np.inf]])
    clusters = cluster_detections(affinity, views, AssociationConfig())
    assert clusters == [[0, 1]]
    affinity[0, 2] = affinity[2, 0] = 0.7
    assert cluster_detections(affinity, views, AssociationConfig()) == [[0, 1, 2]]


def test_tracking_two_people_crossing_with_a_gap_and_a_late_entry(anny_body):
    frames = 24
    params = walking_people(anny_body, [[-1.2, 0.2], [1.2, -0.2], [0.0, 1.6]], [[1.2, 0.2], [-1.2, -0.2], [0.0, 0.8]],
                            frames)  # fmt: skip
    present = np.ones((3, frames), dtype=bool)
    present[0, 9:12] = False  # occluded for 3 frames, around the crossing
    present[2, :8] = False  # enters at frame 8
    rig = ring_rig(6)
    capture = simulate_capture(anny_body, params, present, rig, noise=DetectorNoise(false_rate=0.3), seed=3)
    associator = Associator(list(rig), "body25")
    people = [associator(frame) for frame in capture.detections]
    tracks = track_people(list(range(frames)), people)
    metrics = evaluate_capture(anny_body, capture, tracks)
    assert metrics.num_tracks == 3 and metrics.id_switches == 0 and metrics.false_people == 0
    assert metrics.missed <= 2 and metrics.triangulated_mpjpe_mm < 25.0
    first = {track.id: min(track.people) for track in tracks}
    assert first == {0: 0, 1: 0, 2: 8}
    bridged = [track for track in tracks if 10 in track.people or 13 in track.people]
    assert all(13 in t.people for t in bridged if 8 in t.people)  # the occluded person's id survives the gap


def _person_at(x: float) -> Person3D:
    keypoints = np.tile([x, 0.0, 1.0], (25, 1))
    return Person3D(keypoints, np.ones(25), {0: 0, 1: 0}, np.zeros((2, 25, 2)), np.ones((2, 25)), 1.0)


def test_short_sequences_keep_people_seen_in_every_frame():
    two_frames = track_people([0, 1], [[_person_at(0.0), _person_at(2.0)], [_person_at(0.01), _person_at(2.01)]])
    assert len(two_frames) == 2 and all(sorted(t.people) == [0, 1] for t in two_frames)
    assert len(track_people([5], [[_person_at(0.0)]])) == 1
    # In a longer sequence, a person seen in only 2 frames is still dropped as spurious (min_length 3).
    longer = track_people([0, 1, 2, 3], [[_person_at(0.0), _person_at(2.0)], [_person_at(0.0), _person_at(2.0)],
                                         [_person_at(0.0)], [_person_at(0.0)]])  # fmt: skip
    assert len(longer) == 1 and sorted(longer[0].people) == [0, 1, 2, 3]


def test_count_id_switches():
    assert count_id_switches([[0, 1], [0, 1], [1, 0]], [[5, 6], [5, 6], [5, 6]]) == 2
    assert count_id_switches([[0, -1], [0], [0]], [[5, 9], [5], [5]]) == 0
