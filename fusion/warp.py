"""Warp a mesh attached to a fitted body from one frame to another (DeepMultiCap Eq. 7-9).

Every point gets skinning weights from its nearest body vertices in the source frame (Eq. 7-8,
``BodyModel.point_skinning_weights``) and moves by inverse then forward skinning (Eq. 9, ``BodyModel.repose``).
Blending the neighbours' weights and ignoring pose correctives (SMPL-X) leave the body's own surface a few mm
to cm off where the body bends; with ``follow_surface`` the warp adds that residual motion of the body, taken
from the closest point on the source body's surface (barycentric over its triangle), so a point on the body
lands exactly where the body does and nearby clothing follows it.

Only the :class:`body.BodyModel` interface is used, so both backends (Anny, SMPL-X) work the same.
Convention: metres, world coordinates; ``BodyOutput`` arguments describe one person in one frame (no batch dims).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from body.model import BodyModel, BodyOutput
from fusion.errors import FusionError
from render.mesh import Mesh, raycasting_scene


@dataclass(frozen=True)
class WarpConfig:
    """How points are attached to the body."""

    k: int = 8
    """Nearest body vertices whose skinning weights are blended per point (Eq. 7-8)."""
    sigma_m: float = 0.05
    """Gaussian width of the blend weights exp(-d^2 / sigma^2), metres (Eq. 7)."""
    follow_surface: bool = True
    """Add the body surface's motion that skinning misses (pose correctives, blended weights); off = pure Eq. 9."""

    def __post_init__(self) -> None:
        if self.k < 1:
            raise FusionError(f"WarpConfig.k: expected >= 1, got {self.k}")
        if not self.sigma_m > 0:
            raise FusionError(f"WarpConfig.sigma_m: expected > 0 metres, got {self.sigma_m}")


@dataclass(frozen=True)
class Attachment:
    """Points bound to a body in one frame: everything a warp to any other frame needs.

    Attributes:
        points: (M, 3) float64 world points, metres (the source frame).
        weights: (M, J) skinning weights of the points (Eq. 7-8), body dtype.
        triangles: (M,) index of each point's closest source-body triangle; ``barycentric`` (M, 3) its weights.
            Both None without ``follow_surface``.
    """

    points: np.ndarray
    weights: torch.Tensor
    triangles: np.ndarray | None
    barycentric: np.ndarray | None


def _check_single(output: BodyOutput, name: str) -> None:
    if output.vertices.dim() != 2:
        raise FusionError(
            f"{name}: expected the body of one person in one frame, vertices (N, 3); got {tuple(output.vertices.shape)}"
        )


def closest_triangles(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest triangle of a mesh to each point and the barycentric weights of the closest point on it.

    Args:
        vertices: (N, 3), faces: (F, 3) the mesh; points: (M, 3) queries (same units).
    Returns:
        (M,) int64 triangle indices and (M, 3) float64 weights of that triangle's corners (sum 1).
    """
    import open3d as o3d  # heavy import, only needed here

    query = o3d.core.Tensor(np.ascontiguousarray(points, dtype=np.float32))
    result = raycasting_scene(vertices, faces).compute_closest_points(query)
    uv = result["primitive_uvs"].numpy().astype(np.float64)  # closest = (1 - u - v) c0 + u c1 + v c2
    barycentric = np.stack([1.0 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], axis=1)
    return result["primitive_ids"].numpy().astype(np.int64), barycentric


def attach(body: BodyModel, points: np.ndarray, source: BodyOutput, config: WarpConfig = WarpConfig()) -> Attachment:
    """Bind world points (M, 3) to the body ``source`` (one person, one frame); see :class:`Attachment`."""
    _check_single(source, "source")
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise FusionError(f"points: expected shape (M, 3), got {points.shape}")
    query = torch.tensor(points, dtype=source.vertices.dtype, device=source.vertices.device)
    weights = body.point_skinning_weights(query, source, k=config.k, sigma=config.sigma_m)
    triangles = barycentric = None
    if config.follow_surface:
        triangles, barycentric = closest_triangles(
            source.vertices.detach().cpu().numpy(), source.faces.cpu().numpy(), points
        )
    return Attachment(points, weights, triangles, barycentric)


def _skinning_residual(body: BodyModel, source: BodyOutput, target: BodyOutput, ids: np.ndarray,
                       config: WarpConfig) -> np.ndarray:  # fmt: skip
    """(len(ids), 3) float64: where the target body's vertices ``ids`` are minus where Eq. 9 moves them."""
    index = torch.as_tensor(ids, device=source.vertices.device)
    moved = body.repose(source.vertices[index], source, target, k=config.k, sigma=config.sigma_m)
    return (target.vertices[index] - moved).detach().cpu().double().numpy()


def warp_attached(body: BodyModel, attachment: Attachment, source: BodyOutput, target: BodyOutput,
                  config: WarpConfig = WarpConfig()) -> np.ndarray:  # fmt: skip
    """Move attached points from the pose ``source`` (where they were attached) to the pose ``target``.

    Returns:
        (M, 3) float64 world points, metres.
    """
    _check_single(source, "source")
    _check_single(target, "target")
    if source.vertices.shape != target.vertices.shape:
        raise FusionError(
            f"target: expected the same body as source, vertices {tuple(source.vertices.shape)}, "
            f"got {tuple(target.vertices.shape)}"
        )
    if config.follow_surface and attachment.triangles is None:
        raise FusionError("attachment: made without follow_surface, but the warp config asks for it")
    query = torch.tensor(attachment.points, dtype=source.vertices.dtype, device=source.vertices.device)
    with torch.no_grad():
        moved = body.repose(query, source, target, weights=attachment.weights).cpu().double().numpy()
        if config.follow_surface:
            corners = source.faces.cpu().numpy()[attachment.triangles]  # (M, 3) body vertex ids
            ids, inverse = np.unique(corners, return_inverse=True)  # only the corners in use
            residual = _skinning_residual(body, source, target, ids, config)
            moved += np.einsum("mc,mcd->md", attachment.barycentric, residual[inverse.reshape(corners.shape)])
    return moved


def warp_mesh(body: BodyModel, mesh: Mesh, source: BodyOutput, target: BodyOutput,
              config: WarpConfig = WarpConfig()) -> Mesh:  # fmt: skip
    """``mesh`` (attached to ``source``) re-posed like ``target``; faces and colours are kept."""
    moved = warp_attached(body, attach(body, mesh.vertices, source, config), source, target, config)
    return Mesh(moved, mesh.faces, colors=mesh.colors)
