"""Linear blend skinning as plain functions: forward skinning, inverse skinning, point blend weights.

Convention: a joint transform ``T_j`` (4x4) maps a point of the canonical rest pose to the posed world pose;
a point with skinning weights ``w`` (summing to 1) moves by ``sum_j w_j T_j``.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from body.errors import BodyModelError


def left_matmul(matrix: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """``matrix @ batch`` for a shared matrix (M, K) and a batch (*batch, K, D) -> (*batch, M, D).

    Written as one folded matrix product (batch.T @ matrix.T): broadcasting ``matrix`` into a batched product is
    an order of magnitude slower on CPU, forward and backward.
    """
    return torch.matmul(batch.transpose(-1, -2), matrix.T).transpose(-1, -2)


def blend_transforms(weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Per-point blended transforms.

    Args:
        weights: (N, J) or (*batch, N, J) skinning weights.
        transforms: (*batch, J, 4, 4) joint transforms.
    Returns:
        (*batch, N, 4, 4).
    """
    batch = transforms.shape[:-3]
    flat = transforms.reshape(*batch, transforms.shape[-3], 16)
    blended = left_matmul(weights, flat) if weights.dim() == 2 else torch.matmul(weights, flat)
    return blended.reshape(*batch, weights.shape[-2], 4, 4)


def apply_transforms(transforms: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``transforms`` (..., N, 4, 4) applied to ``points`` (..., N, 3); returns (..., N, 3)."""
    return torch.einsum("...ij,...j->...i", transforms[..., :3, :3], points) + transforms[..., :3, 3]


def skin_points(points: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Forward LBS: canonical points (*batch, N, 3) with weights (N, J) or (*batch, N, J) -> posed (*batch, N, 3)."""
    return apply_transforms(blend_transforms(weights, transforms), points)


def unskin_points(points: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Inverse LBS: posed points (*batch, N, 3) -> canonical points, inverting each point's blended transform."""
    blended = blend_transforms(weights, transforms)
    return apply_transforms(torch.linalg.inv(blended), points)


def nearest_vertex_blend_weights(
    points: torch.Tensor,
    vertices: torch.Tensor,
    vertex_weights: torch.Tensor,
    k: int = 8,
    sigma: float = 0.05,
) -> torch.Tensor:
    """Skinning weights of arbitrary points from their nearest body vertices (DeepMultiCap Eq. 7-8).

    ``W_p = sum_{v in kNN(p)} w_v W_v / sum w_v`` with ``w_v = exp(-||p - v||^2 / sigma^2)``. When every
    neighbour is far (all ``w_v`` underflow) the nearest vertex's weights are used. Neighbours come from a
    KD-tree per batch element (fast for the ~50k vertices of a clothed mesh).

    Args:
        points: (*batch, M, 3) metres.
        vertices: (*batch, N, 3) body vertices in the same pose as ``points``.
        vertex_weights: (N, J) body skinning weights.
        k: neighbours per point. sigma: metres.
    Returns:
        (*batch, M, J) weights, summing to 1 over J, with the dtype and device of ``points``.
        Not differentiable (computed without gradient).
    """
    if points.shape[:-2] != vertices.shape[:-2]:
        raise BodyModelError(
            f"points batch dims {tuple(points.shape[:-2])} must equal vertices batch dims {tuple(vertices.shape[:-2])}"
        )
    batch, num_points = points.shape[:-2], points.shape[-2]
    k = min(k, vertices.shape[-2])
    point_sets = points.detach().reshape(-1, num_points, 3).cpu().double().numpy()
    vertex_sets = vertices.detach().reshape(-1, vertices.shape[-2], 3).cpu().double().numpy()
    weights = vertex_weights.detach().cpu().double().numpy()  # (N, J)
    blended = np.zeros((len(point_sets), num_points, weights.shape[1]))
    for b, (point_set, vertex_set) in enumerate(zip(point_sets, vertex_sets)):
        distance, index = cKDTree(vertex_set).query(point_set, k=k)
        distance, index = distance.reshape(num_points, k), index.reshape(num_points, k)
        # Relative weights: subtracting the nearest distance keeps the nearest neighbour's weight at 1.
        w = np.exp(-(distance**2 - distance[:, :1] ** 2) / sigma**2)
        w /= w.sum(1, keepdims=True)
        for i in range(k):  # k dense (M, J) updates; gathering (M, k, J) at once would take GBs for big meshes
            blended[b] += w[:, i, None] * weights[index[:, i]]
    return torch.as_tensor(blended, dtype=points.dtype, device=points.device).reshape(*batch, num_points, -1)
