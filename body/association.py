"""Cross-view association of 2D detections into people, and their triangulation (one frame).

No number of people is assumed. Steps:

1. Affinity of every pair of detections in different views: per joint seen confidently in both, the distance
   between the two back-projected rays (metres, closest points in front of both cameras), turned into
   ``max(0, 1 - d / max_ray_distance)``; the pair's affinity is the confidence-weighted mean over their common
   joints (unknown with fewer than ``min_common_joints``).
2. Greedy clustering seeded by the best pairs, with a cycle-consistency check: two clusters merge only if they
   share no view and *every* known affinity between their members is at least ``min_consistency`` and their
   mean is at least ``min_pair_affinity``, so A~B and B~C cannot join A and C when A and C disagree.
3. Triangulation of all clusters at once with outlier-view rejection per joint
   (:func:`calibration.geometry.triangulate_robust`); a detection whose left/right joints (upper body, legs
   apart) fit the other views better mirrored is mirrored (left/right swap repair), a whole detection whose
   median reprojection error exceeds ``person_outlier_px`` leaves its cluster, and the clusters that changed
   are triangulated once more.
   A person whose triangulated hips point the other way from its shoulders had its legs swapped in most views:
   its leg joints are swapped back. Joints seen by only two views get their confidence halved
   (``TWO_VIEW_FACTOR``).
4. Plausibility: a bone (layout edge) whose length is outside ``BONE_LENGTHS`` drops its less supported joint;
   a person needs ``min_joints`` joints and a keypoint spread within ``size_range`` metres.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from body.keypoint_io import FrameDetections
from body.keypoint_layouts import get_layout
from calibration.camera import Camera
from calibration.geometry import CameraTensors, backproject_rays, project_points, triangulate_robust

BONE_LENGTHS: dict[frozenset, tuple[float, float]] = {
    frozenset(pair): limits
    for side in ("left", "right")
    for pair, limits in (
        ((f"{side}_shoulder", f"{side}_elbow"), (0.15, 0.45)),
        ((f"{side}_elbow", f"{side}_wrist"), (0.12, 0.40)),
        ((f"{side}_hip", f"{side}_knee"), (0.25, 0.60)),
        ((f"{side}_knee", f"{side}_ankle"), (0.25, 0.60)),
        ((f"{side}_shoulder", f"{side}_hip"), (0.25, 0.75)),
        ((f"{side}_ankle", f"{side}_big_toe"), (0.06, 0.30)),
        ((f"{side}_ankle", f"{side}_heel"), (0.02, 0.16)),
        ((f"{side}_big_toe", f"{side}_small_toe"), (0.01, 0.12)),
        (("nose", f"{side}_eye"), (0.01, 0.10)),
        ((f"{side}_eye", f"{side}_ear"), (0.02, 0.16)),
    )
}
"""Plausible adult bone lengths, metres (canonical keypoint pairs); other edges use ``DEFAULT_BONE_LENGTH``."""
DEFAULT_BONE_LENGTH = (0.0, 0.7)
TWO_VIEW_FACTOR = 0.5
"""Confidence factor of joints triangulated from only two views (an error along the epipolar line is invisible)."""


def mirror_permutation(layout: str) -> np.ndarray:
    """(K,) index of each joint's left/right twin in ``layout`` (itself for central joints)."""
    names = get_layout(layout).keypoints
    twin = [n.replace("left_", "right_") if n.startswith("left_") else n.replace("right_", "left_") for n in names]
    return np.array([names.index(t) if t in names else i for i, t in enumerate(twin)])


def lateral_parts(layout: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The legs (hips down) and the rest of ``layout``: per part, its (K,) mask of left/right joints and the (K,)
    permutation that mirrors that part alone."""
    names = get_layout(layout).keypoints
    mirror = mirror_permutation(layout)
    lateral = mirror != np.arange(len(names))
    legs = np.array([any(word in n for word in ("hip", "knee", "ankle", "toe", "heel")) for n in names])
    return [(lateral & part, np.where(part, mirror, np.arange(len(names)))) for part in (~legs, legs)]


@dataclass(frozen=True)
class AssociationConfig:
    """Settings of :func:`associate`."""

    min_confidence: float = 0.1
    """Joints below this confidence are ignored."""
    max_ray_distance: float = 0.15
    """Metres; joints whose rays pass further apart than this have affinity 0."""
    min_common_joints: int = 4
    """A pair of detections needs this many confident joints in common to get an affinity."""
    min_pair_affinity: float = 0.4
    """Seed pairs, and the mean affinity between two merged clusters, must reach this."""
    min_consistency: float = 0.15
    """Every known affinity between the members of two merged clusters must reach this (cycle consistency)."""
    threshold_px: float = 20.0
    """Per-joint outlier-view threshold of the robust triangulation, pixels."""
    person_outlier_px: float = 40.0
    """A detection whose median reprojection error exceeds this leaves its cluster, pixels."""
    min_joints: int = 5
    """A person needs this many triangulated joints."""
    size_range: tuple[float, float] = (0.3, 2.6)
    """Plausible largest distance between two of a person's keypoints, metres."""
    duplicate_distance: float = 0.15
    """Two people closer than this (mean distance over common joints, metres) are one, merged; 0 disables."""


@dataclass
class Person3D:
    """One person triangulated in one frame.

    Attributes:
        keypoints: (K, 3) world keypoints, metres; zeros where ``confidence`` is 0.
        confidence: (K,) in [0, 1]: mean confidence of the views used for the joint, 0 = not triangulated.
        detections: ``{view: detection index}`` of the person's detection in each view it was found in.
        pixels: (V, K, 2) the 2D observations used (zeros elsewhere), pixels.
        pixel_confidence: (V, K) their confidences; 0 for views/joints not used (outlier views included).
        reprojection_px: median reprojection error of the used observations, pixels.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    detections: dict[int, int]
    pixels: np.ndarray
    pixel_confidence: np.ndarray
    reprojection_px: float

    @property
    def num_views(self) -> int:
        return len(self.detections)


def pair_affinities(
    rays: tuple[np.ndarray, np.ndarray], confidence: np.ndarray, views: np.ndarray, config: AssociationConfig
) -> np.ndarray:
    """(M, M) affinities in [0, 1] between M detections; NaN where unknown (too few common joints), -inf within a view.

    Args:
        rays: origins and unit directions, each (M, K, 3), world. confidence: (M, K). views: (M,) view indices.
    """
    origins, directions = rays
    o_a, d_a, o_b, d_b = origins[:, None], directions[:, None], origins[None], directions[None]  # (M, M, K, 3)
    offset = o_a - o_b
    cos = (d_a * d_b).sum(-1)
    along_a, along_b = (d_a * offset).sum(-1), (d_b * offset).sum(-1)
    denominator = np.maximum(1.0 - cos * cos, 1e-12)
    s = (cos * along_b - along_a) / denominator  # depth along ray a
    u = (along_b - cos * along_a) / denominator  # depth along ray b
    gap = np.linalg.norm(offset + s[..., None] * d_a - u[..., None] * d_b, axis=-1)  # (M, M, K)
    confident = confidence >= config.min_confidence
    common = confident[:, None] & confident[None] & (s > 0) & (u > 0)
    weight = np.sqrt(confidence[:, None] * confidence[None]) * common
    score = np.clip(1.0 - gap / config.max_ray_distance, 0.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        affinity = (weight * score).sum(-1) / weight.sum(-1)
    affinity[common.sum(-1) < config.min_common_joints] = np.nan
    affinity[views[:, None] == views[None]] = -np.inf
    return affinity


def cluster_detections(affinity: np.ndarray, views: np.ndarray, config: AssociationConfig) -> list[list[int]]:
    """Greedy cycle-consistent clustering (module docstring, step 2) -> clusters of detection indices (>= 2 each)."""
    members = {i: [i] for i in range(len(views))}
    cluster_of = np.arange(len(views))
    candidates = np.argwhere(np.triu(np.nan_to_num(affinity, nan=-1.0) >= config.min_pair_affinity, 1))
    order = np.argsort(-affinity[candidates[:, 0], candidates[:, 1]], kind="stable")
    for i, j in candidates[order]:
        a, b = cluster_of[i], cluster_of[j]
        if a == b or set(views[members[a]]) & set(views[members[b]]):
            continue
        cross = affinity[np.ix_(members[a], members[b])]
        known = cross[np.isfinite(cross)]
        if known.min() < config.min_consistency or known.mean() < config.min_pair_affinity:
            continue
        members[a].extend(members.pop(b))
        cluster_of[members[a]] = a
    return [sorted(group) for group in members.values() if len(group) >= 2]


def _bone_limits(layout: str) -> tuple[np.ndarray, np.ndarray]:
    info = get_layout(layout)
    edges = np.asarray(info.edges, dtype=np.int64).reshape(-1, 2)
    pairs = [frozenset((info.keypoints[a], info.keypoints[b])) for a, b in edges]
    limits = [BONE_LENGTHS.get(pair, DEFAULT_BONE_LENGTH) for pair in pairs]
    return edges, np.asarray(limits, dtype=np.float64).reshape(-1, 2)


class Associator:
    """Associates and triangulates the detections of one rig, frame by frame (:meth:`__call__`).

    Args:
        cameras: the V cameras, in the order of the detections' views.
        layout: keypoint layout of the detections.
    """

    def __init__(self, cameras: Sequence[Camera], layout: str, config: AssociationConfig = AssociationConfig()):
        self.cameras = CameraTensors.from_cameras(list(cameras))
        self.layout = get_layout(layout).name
        self.config = config
        self.edges, self.limits = _bone_limits(layout)
        self.mirror = mirror_permutation(layout)
        self.parts = lateral_parts(layout)
        names = get_layout(layout).keypoints
        torso = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
        self.torso = [names.index(n) for n in torso] if all(n in names for n in torso) else None

    def __call__(self, detections: FrameDetections) -> list[Person3D]:
        """The people of one frame (any number, possibly none).

        Runs torch on one thread (restored afterwards): its tensors are tiny, and thread hand-offs cost more
        than they save (measured 3-4x slower with 2 threads on a busy 2-core machine).
        """
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._associate(detections)
        finally:
            torch.set_num_threads(threads)

    def _associate(self, detections: FrameDetections) -> list[Person3D]:
        config, num_views = self.config, len(self.cameras)
        if detections.num_views != num_views:
            raise ValueError(f"associate: expected detections for {num_views} views, got {detections.num_views}")
        if detections.layout != self.layout:
            raise ValueError(f"associate: expected layout {self.layout!r}, got {detections.layout!r}")
        counts = [len(k) for k in detections.keypoints]
        if sum(1 for c in counts if c) < 2:
            return []
        keypoints = np.concatenate(detections.keypoints)  # (M, K, 2)
        confidence = np.concatenate(detections.confidence)  # (M, K)
        confidence = np.where(confidence >= config.min_confidence, confidence, 0.0)
        views = np.repeat(np.arange(num_views), counts)
        index = np.concatenate([np.arange(c) for c in counts])
        origins, directions = backproject_rays(torch.from_numpy(keypoints), self.cameras[torch.from_numpy(views)])
        affinity = pair_affinities((origins.numpy(), directions.numpy()), confidence, views, config)
        clusters = cluster_detections(affinity, views, config)
        people = self._triangulate(*self._observations(clusters, keypoints, confidence, views))
        if config.duplicate_distance > 0:
            clusters, people = self._merge_duplicates(clusters, people, keypoints, confidence, views)
        kept = []
        for cluster, person in zip(clusters, people):
            if person is not None:
                used = {}  # per view, the detection that gave most of the used joints
                for m in cluster:
                    count = int(((confidence[m] > 0) & (person.pixel_confidence[views[m]] > 0)).sum())
                    if count and count > used.get(int(views[m]), (0, -1))[0]:
                        used[int(views[m])] = (count, int(index[m]))
                person.detections = {view: m for view, (_, m) in sorted(used.items())}
                kept.append(person)
        return kept

    def _observations(self, clusters, keypoints, confidence, views) -> tuple[np.ndarray, np.ndarray]:
        """Per cluster and view, the pixels (C, V, K, 2) and confidences (C, V, K) of its detections; where a
        cluster holds two detections of one view (the halves of a split person), each joint from the more
        confident one."""
        num_views, joints = len(self.cameras), keypoints.shape[1]
        pixels = np.zeros((len(clusters), num_views, joints, 2))
        weights = np.zeros((len(clusters), num_views, joints))
        for c, cluster in enumerate(clusters):
            for m in cluster:
                better = confidence[m] > weights[c, views[m]]
                pixels[c, views[m], better] = keypoints[m, better]
                weights[c, views[m], better] = confidence[m, better]
        return pixels, weights

    def _merge_duplicates(self, clusters, people, keypoints, confidence, views):
        """Clusters whose people lie within ``duplicate_distance`` of each other (mean over their common joints)
        are one person seen twice (a person split in two, a view's detection left out of its cluster): merged
        and triangulated again. Returns the new clusters and people."""
        config = self.config
        found = [c for c, person in enumerate(people) if person is not None]
        group = {c: c for c in range(len(clusters))}
        merged = False
        for a_pos, a in enumerate(found):
            for b in found[a_pos + 1 :]:
                pa, pb = people[a], people[b]
                common = (pa.confidence > 0) & (pb.confidence > 0)
                if common.sum() < config.min_common_joints:
                    continue
                distance = np.linalg.norm(pa.keypoints[common] - pb.keypoints[common], axis=-1).mean()
                if distance < config.duplicate_distance and group[b] == b:
                    group[b], merged = group[a], True
        if not merged:
            return clusters, people
        members: dict[int, list[int]] = {}
        for c in range(len(clusters)):
            members.setdefault(group[c], []).extend(clusters[c])
        changed = [root for root in members if any(group[c] == root and c != root for c in range(len(clusters)))]
        new_people = self._triangulate(*self._observations([members[r] for r in changed], keypoints, confidence, views))
        redo = dict(zip(changed, new_people))
        roots = sorted(members)
        return [members[r] for r in roots], [redo[r] if r in redo else people[r] for r in roots]

    def _triangulate(self, pixels: np.ndarray, weights: np.ndarray) -> list[Person3D | None]:
        """Triangulate every cluster's observations (C, V, K, 2), (C, V, K) (changed in place); drop outlier
        detections once and triangulate again; check plausibility."""
        if not len(pixels):
            return []
        config = self.config
        points, inliers, errors = self._solve(pixels, weights)
        flipped = self._unswap(points, pixels, weights)  # (C, V)
        with warnings.catch_warnings():  # views without observations give all-NaN rows
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(np.where(weights > 0, errors, np.nan), axis=-1)  # (C, V)
        outliers = (np.nan_to_num(median, nan=0.0) > config.person_outlier_px) & ~flipped
        weights[outliers] = 0.0
        redo = np.flatnonzero((flipped | outliers).any(-1))  # one more triangulation, of the clusters that changed
        if len(redo):
            points[redo], inliers[redo], errors[redo] = self._solve(pixels[redo], weights[redo])
        used = weights * inliers  # (C, V, K)
        for c in np.flatnonzero(self._legs_mirrored(points)):  # most views swapped the legs: swap them back
            legs = self.parts[1][1]
            points[c], used[c], pixels[c], errors[c] = points[c, legs], used[c][:, legs], pixels[c][:, legs], errors[c][:, legs]
            inliers[c] = inliers[c][:, legs]
        people = []
        for c in range(len(points)):
            views_used = inliers[c].sum(0)
            valid = np.isfinite(points[c]).all(-1) & (views_used >= 2)
            joint_conf = np.where(valid, used[c].sum(0) / np.maximum(views_used, 1), 0.0)
            joint_conf = joint_conf * np.where(views_used >= 3, 1.0, TWO_VIEW_FACTOR)
            xyz = np.where(valid[:, None], points[c], 0.0)
            joint_conf = self._check_bones(xyz, joint_conf)
            person_used = used[c] * (joint_conf > 0)
            if not self._plausible(xyz, joint_conf):
                people.append(None)
                continue
            used_errors = errors[c][person_used > 0]
            median = float(np.median(used_errors)) if used_errors.size else 0.0
            people.append(Person3D(
                keypoints=xyz, confidence=joint_conf, detections={}, pixels=pixels[c] * (person_used[..., None] > 0),
                pixel_confidence=person_used, reprojection_px=median,
            ))  # fmt: skip
        return people

    def _legs_mirrored(self, points: np.ndarray) -> np.ndarray:
        """(C,) True where a triangulated person's hips point the other way from its shoulders (left hip on the
        right), i.e. the legs were labelled mirrored in most views. points: (C, K, 3), NaN where unknown."""
        if self.torso is None:
            return np.zeros(len(points), dtype=bool)
        left_shoulder, right_shoulder, left_hip, right_hip = self.torso
        shoulders = points[:, left_shoulder] - points[:, right_shoulder]
        hips = points[:, left_hip] - points[:, right_hip]
        with np.errstate(invalid="ignore"):
            return np.nan_to_num((shoulders * hips).sum(-1), nan=0.0) < 0

    def _unswap(self, points: np.ndarray, pixels: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Mirror (in place) the detections whose left/right joints fit the triangulation ``points`` (C, K, 3)
        better swapped; returns (C, V) True where a detection was.

        Upper body (arms, head) and legs are judged apart, as detectors swap the legs alone too: a part of a
        detection is mirrored when its summed (capped) reprojection error over its lateral joints drops below
        half by swapping left and right, and its mean error was above a quarter of ``threshold_px``.
        """
        num_clusters, num_views, joints = weights.shape
        known = np.isfinite(points).all(-1)[:, None]  # (C, 1, K)
        cams = self.cameras
        xyz = torch.from_numpy(np.nan_to_num(points, nan=0.0)[:, None])
        projected = project_points(xyz, cams.K, cams.dist, cams.R, cams.t).numpy()  # (C, V, K, 2)
        cap = 3.0 * self.config.threshold_px
        valid = (weights > 0) & (weights[..., self.mirror] > 0) & known & known[..., self.mirror]
        error = np.minimum(np.linalg.norm(projected - pixels, axis=-1), cap)
        swapped = np.minimum(np.linalg.norm(projected - pixels[..., self.mirror, :], axis=-1), cap)
        any_flip = np.zeros((num_clusters, num_views), dtype=bool)
        for part, permutation in self.parts:
            in_part = valid & part
            count = in_part.sum(-1)
            before, after = (error * in_part).sum(-1), (swapped * in_part).sum(-1)
            flip = (count >= 4) & (after < 0.5 * before) & (before > 0.25 * self.config.threshold_px * np.maximum(count, 1))
            pixels[flip] = pixels[flip][:, permutation]
            weights[flip] = weights[flip][:, permutation]
            any_flip |= flip
        return any_flip

    def _solve(self, pixels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Batched triangulate_robust over clusters: (C, V, K, 2), (C, V, K) -> points (C, K, 3) (NaN where not
        triangulated), inlier views (C, V, K) bool and reprojection errors (C, V, K) pixels."""
        num_clusters, num_views, joints = weights.shape
        flat_pixels = torch.from_numpy(pixels.transpose(1, 0, 2, 3).reshape(num_views, num_clusters * joints, 2))
        flat_weights = torch.from_numpy(weights.transpose(1, 0, 2).reshape(num_views, num_clusters * joints))
        result = triangulate_robust(flat_pixels, self.cameras, flat_weights, threshold_px=self.config.threshold_px)
        per_cluster = lambda a: a.numpy().reshape(num_views, num_clusters, joints).transpose(1, 0, 2)  # noqa: E731
        return result.points.numpy().reshape(num_clusters, joints, 3), per_cluster(result.inliers), per_cluster(result.errors)

    def _check_bones(self, xyz: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        """Zero the less confident joint of each bone whose length is implausible; returns new confidences (K,)."""
        confidence = confidence.copy()
        a, b = self.edges[:, 0], self.edges[:, 1]
        length = np.linalg.norm(xyz[a] - xyz[b], axis=-1)
        bad = (confidence[a] > 0) & (confidence[b] > 0)
        bad &= (length < self.limits[:, 0]) | (length > self.limits[:, 1])
        for edge in np.flatnonzero(bad):
            j_a, j_b = a[edge], b[edge]
            confidence[j_a if confidence[j_a] < confidence[j_b] else j_b] = 0.0
        return confidence

    def _plausible(self, xyz: np.ndarray, confidence: np.ndarray) -> bool:
        valid = xyz[confidence > 0]
        if len(valid) < self.config.min_joints:
            return False
        spread = np.linalg.norm(valid[:, None] - valid[None], axis=-1).max()
        return self.config.size_range[0] <= spread <= self.config.size_range[1]


def associate(
    detections: FrameDetections, cameras: Sequence[Camera], config: AssociationConfig = AssociationConfig()
) -> list[Person3D]:
    """One-off :class:`Associator` call (build an Associator to process many frames)."""
    return Associator(cameras, detections.layout, config)(detections)
