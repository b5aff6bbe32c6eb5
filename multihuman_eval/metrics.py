"""Chamfer and point-to-surface (P2S) distances in cm, after scaling the ground-truth person to 1.80 m.

Convention (the protocol; docs/evaluation.md explains it at length):
    scale    s = target_height_m / height(gt), height = extent of the GT vertices along `up` (world z by default)
    both meshes: v' = (v - c) * s, c = centre of the GT bounding box (distances do not depend on c)
    rec samples: sample_surface(rec', N, seed);  GT samples: sample_surface(gt', N, seed + 1)
    p2s_rec_to_gt_cm = 100 * mean over rec samples of the distance to the GT surface   (the paper's "P2S")
    p2s_gt_to_rec_cm = 100 * mean over GT samples of the distance to the rec surface
    chamfer_cm       = (p2s_rec_to_gt_cm + p2s_gt_to_rec_cm) / 2
Reading them: rec_to_gt grows with spurious geometry (blobs, a second person merged in); gt_to_rec grows
with missing geometry (a lost arm). A copy shifted by d is NOT d away on average: the surfaces slide along
each other, e.g. a sphere gives about d/2 and a cube shifted along an axis about d/3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from multihuman_eval.surface import point_to_surface_distances
from render.mesh import Mesh, MeshError, sample_surface

CM_PER_M = 100.0


@dataclass(frozen=True)
class SurfaceMetricsConfig:
    """How the surface metrics are computed (the defaults are the protocol)."""

    samples_per_mesh: int = 10_000
    """Uniform surface samples drawn on each mesh."""
    seed: int = 0
    """Seed of the reconstruction's samples; the ground truth's use seed + 1."""
    target_height_m: float = 1.80
    """Height the ground-truth person is scaled to, metres."""
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    """World up direction along which the GT height is measured (z-up world; (0, 1, 0) for y-up scans)."""

    def __post_init__(self) -> None:
        if isinstance(self.samples_per_mesh, bool) or not isinstance(self.samples_per_mesh, int) or (
            self.samples_per_mesh <= 0
        ):
            raise ValueError(f"samples_per_mesh: expected a positive integer, got {self.samples_per_mesh!r}")
        if not self.target_height_m > 0.0:
            raise ValueError(f"target_height_m: expected a positive height in metres, got {self.target_height_m!r}")
        up = np.asarray(self.up, dtype=np.float64)
        if up.shape != (3,) or not np.linalg.norm(up) > 0.0:
            raise ValueError(f"up: expected a non-zero 3-vector, got {self.up!r}")


@dataclass(frozen=True)
class SurfaceMetrics:
    """Surface distances of one reconstructed person against its ground truth (units in the field names)."""

    chamfer_cm: float
    """Mean of the two directions below."""
    p2s_rec_to_gt_cm: float
    """Mean distance from reconstruction samples to the GT surface (the paper's P2S; sees extra geometry)."""
    p2s_gt_to_rec_cm: float
    """Mean distance from GT samples to the reconstructed surface (sees missing geometry)."""
    gt_height_m: float
    """GT height along `up` before scaling, metres."""
    scale_factor: float
    """Factor both meshes were multiplied by: target_height_m / gt_height_m."""
    samples_per_mesh: int
    seed: int


def gt_height(gt: Mesh, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> float:
    """Extent of the GT vertices along the unit direction of `up`, in the mesh's units (metres)."""
    if gt.num_vertices == 0:
        raise MeshError(f"gt: expected a mesh with at least one vertex, got {gt!r}")
    direction = np.asarray(up, dtype=np.float64)
    heights = gt.vertices @ (direction / np.linalg.norm(direction))
    return float(heights.max() - heights.min())


def normalize_scale(
    rec: Mesh, gt: Mesh, target_height_m: float = 1.80, up: tuple[float, float, float] = (0.0, 0.0, 1.0)
) -> tuple[Mesh, Mesh, float]:
    """Scale both meshes by s = target_height_m / gt_height(gt, up) about the GT bounding-box centre.

    Returns (rec scaled, gt scaled, s). The scaled GT is exactly `target_height_m` tall along `up`;
    all distances between the two meshes are multiplied by s. Raises MeshError for a flat GT (height 0).
    """
    height = gt_height(gt, up)
    if not height > 0.0:
        raise MeshError(f"gt: expected a positive height along up={tuple(up)}, got {height:g} ({gt!r})")
    scale = target_height_m / height
    centre = 0.5 * (gt.vertices.min(axis=0) + gt.vertices.max(axis=0))
    scaled = [Mesh((mesh.vertices - centre) * scale, mesh.faces) for mesh in (rec, gt)]
    return scaled[0], scaled[1], scale


def _named_samples(name: str, mesh: Mesh, count: int, seed: int) -> np.ndarray:
    """`sample_surface`, with the argument's name in front of a MeshError (e.g. an empty reconstruction)."""
    try:
        return sample_surface(mesh, count, seed)
    except MeshError as error:
        raise MeshError(f"{name}: {error}") from None


def evaluate_surface(rec: Mesh, gt: Mesh, config: SurfaceMetricsConfig = SurfaceMetricsConfig()) -> SurfaceMetrics:
    """Chamfer and both P2S directions of one person, in cm after `normalize_scale` (see the module doc).

    Raises MeshError naming `rec` or `gt` when one has no faces or no surface area.

    Example:
        >>> m = evaluate_surface(load_mesh("rec.ply"), load_mesh("gt.ply"))   # render.load_mesh
        >>> m.chamfer_cm, m.p2s_rec_to_gt_cm, m.p2s_gt_to_rec_cm
    """
    rec_scaled, gt_scaled, scale = normalize_scale(rec, gt, config.target_height_m, config.up)
    rec_points = _named_samples("rec", rec_scaled, config.samples_per_mesh, config.seed)
    gt_points = _named_samples("gt", gt_scaled, config.samples_per_mesh, config.seed + 1)
    rec_to_gt = CM_PER_M * float(point_to_surface_distances(rec_points, gt_scaled).mean())
    gt_to_rec = CM_PER_M * float(point_to_surface_distances(gt_points, rec_scaled).mean())
    return SurfaceMetrics(
        chamfer_cm=0.5 * (rec_to_gt + gt_to_rec),
        p2s_rec_to_gt_cm=rec_to_gt,
        p2s_gt_to_rec_cm=gt_to_rec,
        gt_height_m=config.target_height_m / scale,
        scale_factor=scale,
        samples_per_mesh=config.samples_per_mesh,
        seed=config.seed,
    )


def evaluate_persons(
    recs: Mapping[int, Mesh], gts: Mapping[int, Mesh], config: SurfaceMetricsConfig = SurfaceMetricsConfig()
) -> dict[int, SurfaceMetrics]:
    """Per-person metrics of a multi-person scene, {track id: SurfaceMetrics}, matched by track id.

    Each person is scaled by its own GT height, so a child and an adult weigh the same. A scene's number
    is the plain mean over its persons. Raises ValueError when the two id sets differ.
    """
    if set(recs) != set(gts):
        raise ValueError(
            f"recs: expected the GT track ids {sorted(gts)}, got {sorted(recs)} "
            f"(missing {sorted(set(gts) - set(recs))}, extra {sorted(set(recs) - set(gts))})"
        )
    return {track_id: evaluate_surface(recs[track_id], gts[track_id], config) for track_id in sorted(gts)}
