"""Training samples for the occupancy network: query points with inside / outside labels, and occlusion
augmentation of the person masks.

Points (DeepMultiCap section 5): surface samples of the ground-truth mesh moved by a Gaussian offset with a small
sigma where the surface is visible in some view and a larger sigma where no view sees it, plus uniform points in
the person's padded box; labelled by ray parity against the watertight ground truth and balanced half inside,
half outside. A share of points lies around the other people of the scene, where every view sees only the other
person ('unobserved'), so that the network does not fill that space with this person. Every function draws from
the `rng` it is given, so a seed reproduces a sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from calibration.camera import Camera
from implicit.config import SamplingConfig
from render import Mesh
from render.mesh import raycasting_scene, sample_surface

CANDIDATE_FACTOR = 3
"""Candidates drawn per requested point, so that both classes usually have enough members to balance."""


def occupancy_labels(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """(N,) bool: inside the watertight `mesh` (ray parity, 3 rays voted; Open3D RaycastingScene)."""
    import open3d as o3d

    query = o3d.core.Tensor(np.asarray(points, np.float32))
    return raycasting_scene(mesh.vertices, mesh.faces).compute_occupancy(query, nsamples=3).numpy().astype(bool)


def visible_in_any_view(points: np.ndarray, cameras: Sequence[Camera], scene_depth: np.ndarray, tolerance: float) -> np.ndarray:
    """(N,) bool: the surface point is the nearest surface at its pixel in at least one view.

    Args:
        points: (N, 3) surface points, world, metres.
        cameras: V cameras.
        scene_depth: (V, H, W) rendered camera depth of all people of the scene (+inf where empty).
        tolerance: metres of depth difference still counted as the same surface.
    """
    visible = np.zeros(len(points), dtype=bool)
    for camera, depth in zip(cameras, scene_depth):
        z = camera.world_to_camera(points)[:, 2]
        pixels = np.rint(camera.project(points)).astype(np.int64)
        inside = (z > 0) & (pixels[:, 0] >= 0) & (pixels[:, 0] < camera.width) & (pixels[:, 1] >= 0)
        inside &= pixels[:, 1] < camera.height
        index = np.flatnonzero(inside)
        visible[index] |= np.abs(depth[pixels[index, 1], pixels[index, 0]] - z[index]) < tolerance
    return visible


def sample_training_points(
    mesh: Mesh,
    cameras: Sequence[Camera],
    scene_depth: np.ndarray,
    config: SamplingConfig,
    rng: np.random.Generator,
    others: Sequence[Mesh] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Balanced query points around one person, plus points around the other people near them.

    Args:
        mesh: the person's watertight ground-truth mesh, world, metres.
        cameras, scene_depth: the views and their rendered scene depth (V, H, W), for visibility.
        config: counts and sigmas.
        rng: the random source.
        others: the other people's ground-truth meshes; up to config.other_people_fraction of the points are drawn
            around them (sigma_hidden offsets) within config.other_people_reach of this person's box, labelled
            against this person (mostly outside).

    Returns:
        points (N, 3) float32 world and labels (N,) float32 (1 inside, 0 outside), N = config.points, shuffled;
        the points around this person are half of each class when the candidates allow it.
    """
    near_others = _points_near_others(mesh, others, int(round(config.other_people_fraction * config.points)), config, rng)
    points, labels = _balanced_points(mesh, cameras, scene_depth, config, config.points - len(near_others), rng)
    if len(near_others):
        points = np.concatenate([points, near_others.astype(np.float32)])
        labels = np.concatenate([labels, occupancy_labels(mesh, near_others).astype(np.float32)])
        order = rng.permutation(len(points))
        points, labels = points[order], labels[order]
    return points, labels


def _points_near_others(mesh: Mesh, others: Sequence[Mesh], count: int, config: SamplingConfig,
                        rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """(<= count, 3) points around the other people's surfaces that lie within reach of `mesh`'s box."""
    if not others or count == 0:
        return np.zeros((0, 3))
    low = mesh.vertices.min(axis=0) - config.other_people_reach
    high = mesh.vertices.max(axis=0) + config.other_people_reach
    candidates = np.concatenate([sample_surface(other, CANDIDATE_FACTOR * count, rng) for other in others])
    candidates += rng.normal(size=candidates.shape) * config.sigma_hidden
    candidates = candidates[np.all((candidates >= low) & (candidates <= high), axis=1)]
    return rng.permutation(candidates)[:count]


def _balanced_points(mesh: Mesh, cameras: Sequence[Camera], scene_depth: np.ndarray, config: SamplingConfig,
                     count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """`count` points around `mesh` (surface offsets by visibility, uniform in the padded box), half inside."""
    total = CANDIDATE_FACTOR * count
    uniform = int(round(config.uniform_fraction * total))
    surface = sample_surface(mesh, total - uniform, rng)
    sigma = np.where(
        visible_in_any_view(surface, cameras, scene_depth, config.visibility_tolerance),
        config.sigma_visible,
        config.sigma_hidden,
    )
    near = surface + rng.normal(size=surface.shape) * sigma[:, None]
    low = mesh.vertices.min(axis=0) - config.box_padding
    high = mesh.vertices.max(axis=0) + config.box_padding
    candidates = np.concatenate([near, low + rng.random((uniform, 3)) * (high - low)])
    inside = occupancy_labels(mesh, candidates)
    inside_idx, outside_idx = rng.permutation(np.flatnonzero(inside)), rng.permutation(np.flatnonzero(~inside))
    n_in = min(len(inside_idx), max(count // 2, count - len(outside_idx)))
    chosen = np.concatenate([inside_idx[:n_in], outside_idx[: count - n_in]])
    chosen = rng.permutation(chosen)
    return candidates[chosen].astype(np.float32), inside[chosen].astype(np.float32)


def _random_ellipse(size: int, rng: np.random.Generator, near: np.ndarray) -> np.ndarray:
    """(size, size) bool: one filled ellipse (axes 5-30 % of the crop) centred on a random pixel of `near`."""
    import cv2

    ys, xs = np.nonzero(near) if near.any() else (np.array([size // 2]), np.array([size // 2]))
    k = rng.integers(len(xs))
    axes = tuple(int(a) for a in rng.uniform(0.05, 0.3, size=2) * size)
    blob = np.zeros((size, size), np.uint8)
    cv2.ellipse(blob, (int(xs[k]), int(ys[k])), axes, float(rng.uniform(0, 180)), 0.0, 360.0, 1, thickness=-1)
    return blob.astype(bool)


def _shifted_silhouette(silhouette: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`silhouette` (S, S) bool, scaled by 0.7-1.2 about its centre and shifted by up to a third of the crop."""
    import cv2

    size = silhouette.shape[0]
    scale = rng.uniform(0.7, 1.2)
    shift = rng.uniform(-size / 3, size / 3, size=2)
    c = (size - 1) / 2
    affine = np.array([[scale, 0.0, c - scale * c + shift[0]], [0.0, scale, c - scale * c + shift[1]]])
    warped = cv2.warpAffine(silhouette.astype(np.uint8), affine, (size, size), flags=cv2.INTER_NEAREST)
    return warped.astype(bool)


def augment_occlusion(
    masks: np.ndarray,
    unobserved: np.ndarray,
    occluders: Sequence[np.ndarray],
    config: SamplingConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paste other people's silhouettes and random blobs in front of the person, view by view.

    Args:
        masks: (V, S, S) bool person masks of the crops.
        unobserved: (V, S, S) bool pixels already hidden by another person.
        occluders: silhouettes (S, S) bool to paste (other people, other views), randomly scaled and shifted;
            may be empty (then only blobs).
        config: per-view probabilities of a silhouette and of a blob.
        rng: the random source.

    Returns:
        (masks, unobserved, pasted): new (V, S, S) bool arrays; every pasted pixel is unobserved and not in the
        mask (the ground-truth geometry is unchanged, so the network learns to complete hidden parts).
    """
    pasted = np.zeros_like(masks, dtype=bool)
    for v in range(len(masks)):
        if occluders and rng.random() < config.occluder_probability:
            pasted[v] |= _shifted_silhouette(occluders[rng.integers(len(occluders))], rng)
        if rng.random() < config.blob_probability:
            pasted[v] |= _random_ellipse(masks.shape[-1], rng, masks[v])
    return masks & ~pasted, unobserved | pasted, pasted
