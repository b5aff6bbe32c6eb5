"""The detector simulator's harder mode: each failure occurs at its configured rate on a small static scene."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from body.keypoint_layouts import get_layout
from calibration.ring_rig import ring_rig
from capture_helpers import QUIET, walking_people
from synth.detector_sim import DetectorFailures, crowding, detector_mode, joint_groups, simulate_detections

NAMES = list(get_layout("body25").keypoints)
RATE = 0.3
DRAWS = 60


@pytest.fixture(scope="module")
def crowd(anny_body):
    """(4, 25, 3) keypoints of 4 people standing 0.9-1.8 m apart (crowded in some views, not in others), the rig
    and each view's exact projections (V, 4, 25, 2) and in-image flags (V, 4, 25)."""
    params = walking_people(anny_body, [[-0.9, 0], [0.9, 0], [0, -0.5], [0, 1.4]], [[0, 0]] * 4, frames=1)
    params.global_rot_aa[:, 0, 2] = torch.tensor([0.0, 1.0, 2.5, -1.5])
    with torch.no_grad():
        points = anny_body.keypoints(params, NAMES)[:, 0].double().numpy()
    rig = list(ring_rig(6))
    pixels = np.stack([camera.project(points.reshape(-1, 3)).reshape(4, -1, 2) for camera in rig])
    inside = (pixels >= 0).all(-1) & (pixels[..., 0] <= rig[0].width - 1) & (pixels[..., 1] <= rig[0].height - 1)
    return points, rig, pixels, inside


def _runs(crowd, failures: DetectorFailures):
    """DRAWS frames of the scene: yields (view index, SimulatedView, crowded (4,), neighbour (4,))."""
    points, rig, pixels, inside = crowd
    rng = np.random.default_rng(7)
    for _ in range(DRAWS):
        for v, view in enumerate(simulate_detections(points, rig, "body25", QUIET, rng, failures)):
            crowded, neighbour = crowding(pixels[v], inside[v], failures.crowd_iou)
            yield v, view, crowded, neighbour


def _assert_rate(hits: int, trials: int, rate: float = RATE) -> None:
    assert trials >= 100, f"too few trials ({trials}) for a rate"
    tolerance = 4.0 * np.sqrt(rate * (1 - rate) / trials)
    assert abs(hits / trials - rate) < tolerance, f"{hits}/{trials} = {hits / trials:.3f}, expected {rate}"


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, atol=1e-9))


def test_scene_has_crowded_and_free_person_views(crowd):
    points, rig, pixels, inside = crowd
    flags = np.concatenate([crowding(pixels[v], inside[v], 0.2)[0] for v in range(len(rig))])
    assert 0.2 < flags.mean() < 0.9


def test_leg_swaps(crowd):
    _, _, pixels, _ = crowd
    legs = joint_groups("body25")[2]
    hits = trials = 0
    for v, view, _, _ in _runs(crowd, DetectorFailures(leg_swap_rate=RATE)):
        for keypoints, person, flag in zip(view.keypoints, view.person, view.leg_swapped):
            swapped = _equal(keypoints, pixels[v, person][legs])
            assert swapped != _equal(keypoints, pixels[v, person]) and swapped == flag
            hits, trials = hits + swapped, trials + 1
    _assert_rate(hits, trials)


def test_crowded_people_are_missed(crowd):
    hits = trials = 0
    for _, view, crowded, _ in _runs(crowd, DetectorFailures(crowd_miss_rate=RATE)):
        found = set(view.person.tolist())
        assert all(p in found for p in np.flatnonzero(~crowded)), "an uncrowded person was missed"
        trials += int(crowded.sum())
        hits += sum(p not in found for p in np.flatnonzero(crowded))
    _assert_rate(hits, trials)


def test_limbs_come_from_the_neighbour(crowd):
    _, _, pixels, _ = crowd
    limbs = joint_groups("body25")[0]
    hits = trials = 0
    for v, view, crowded, neighbour in _runs(crowd, DetectorFailures(limb_rate=RATE)):
        for keypoints, conf, person, flag in zip(view.keypoints, view.confidence, view.person, view.stolen_limb):
            own = _equal(keypoints, pixels[v, person])
            if not crowded[person]:
                assert own and not flag
                continue
            other = pixels[v, neighbour[person]]
            stolen = [limb for limb in limbs if conf[limb].any() and _equal(keypoints[limb], other[limb])
                      and not _equal(other[limb], pixels[v, person][limb])]  # fmt: skip
            assert flag == (not own) and len(stolen) <= 1
            hits, trials = hits + flag, trials + 1
    _assert_rate(hits, trials)


def test_two_people_merge_into_one_skeleton(crowd):
    _, _, pixels, _ = crowd
    lower = joint_groups("body25")[1]
    hits = trials = 0
    for v, view, crowded, neighbour in _runs(crowd, DetectorFailures(merge_rate=RATE)):
        merged = {int(p): int(q) for p, q, m in zip(view.person, view.partner, view.merged) if m}
        for p, q in merged.items():
            row = np.flatnonzero(view.person == p)[0]
            assert _equal(view.keypoints[row][lower], pixels[v, q][lower]), "lower body not the partner's"
            assert _equal(view.keypoints[row][~lower], pixels[v, p][~lower])
            assert q not in view.person and q == neighbour[p]
        taken: set[int] = set()
        for p in range(len(crowded)):  # the simulator's order: a person merges if neither it nor its neighbour did
            if crowded[p] and p not in taken and neighbour[p] not in taken:
                trials += 1
                if p in merged:
                    hits += 1
                    taken |= {p, merged[p]}
    _assert_rate(hits, trials)


def test_people_split_in_two(crowd):
    _, _, pixels, _ = crowd
    lower = joint_groups("body25")[1]
    hits = trials = 0
    for v, view, _, _ in _runs(crowd, DetectorFailures(split_rate=RATE)):
        for p in np.unique(view.person):
            rows = np.flatnonzero(view.person == p)
            trials += 1
            if len(rows) == 2:
                hits += 1
                seen = [view.confidence[r] > 0 for r in rows]
                assert sorted(bool((s & lower).any()) for s in seen) == [False, True], "not one half each"
                assert all(not (s & lower).any() or not (s & ~lower).any() for s in seen)
            assert view.split[rows].all() == (len(rows) == 2)
    _assert_rate(hits, trials)


def test_blind_confidence(crowd):
    hits = trials = 0
    for _, view, _, _ in _runs(crowd, DetectorFailures(blind_confidence_rate=RATE)):
        conf = view.confidence[view.confidence > 0]
        blind = ~np.isclose(conf, 0.95)  # QUIET: exact joints have confidence 0.95
        assert ((conf[blind] >= 0.3) & (conf[blind] <= 1.0)).all()
        hits, trials = hits + int(blind.sum()), trials + conf.size
    _assert_rate(hits, trials)


def test_harder_mode_confidence_hardly_tracks_error(crowd):
    """Plain mode: confidence falls with pixel error; harder mode: much weaker correlation."""
    points, rig, pixels, _ = crowd
    correlations = {}
    for mode in ("plain", "harder"):
        noise, failures = detector_mode(mode)
        rng = np.random.default_rng(3)
        errors, confidences = [], []
        for _ in range(20):
            for v, view in enumerate(simulate_detections(points, rig, "body25", noise, rng, failures)):
                for keypoints, conf, person in zip(view.keypoints, view.confidence, view.person):
                    if person >= 0:
                        seen = conf > 0
                        errors.append(np.linalg.norm(keypoints[seen] - pixels[v, person][seen], axis=-1))
                        confidences.append(conf[seen])
        correlations[mode] = np.corrcoef(np.concatenate(errors), np.concatenate(confidences))[0, 1]
    assert correlations["plain"] < -0.5
    assert correlations["harder"] > 0.5 * correlations["plain"]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="plain"):
        detector_mode("hard")
