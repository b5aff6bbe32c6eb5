"""Keep a person's occupancy off the people beside them: space nearer another person's body is theirs.

Where two people touch, the pixels of one are "unobserved" (not background) for the other, so nothing in the
images carves the neighbour away and the network can grow into them. The fitted bodies settle it: a point whose
signed distance to another person's body is smaller, by more than a margin, than its signed distance to this
person's body is outside this person.

    fn = exclude_neighbours(occupancy_function(model, inputs), own_body, [other_body], margin_m=0.03)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from implicit.meshing import OccupancyFn
from render.mesh import Mesh, raycasting_scene

DEFAULT_MARGIN_M = 0.03
"""How much nearer another person's body must be (signed distance, metres) to claim a point."""


class SignedDistance:
    """Signed distance to a watertight mesh (negative inside), metres; Open3D RaycastingScene."""

    def __init__(self, mesh: Mesh) -> None:
        self._scene = raycasting_scene(mesh.vertices, mesh.faces)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N,) float64 signed distances, metres."""
        import open3d as o3d

        query = o3d.core.Tensor(np.asarray(points, np.float32))
        return self._scene.compute_signed_distance(query, nsamples=3).numpy().astype(np.float64)


def claimed_by_neighbours(points: np.ndarray, own: SignedDistance, others: Sequence[SignedDistance],
                          margin_m: float) -> np.ndarray:  # fmt: skip
    """(N,) bool: points whose signed distance to some other body is below their distance to `own` - margin."""
    claimed = np.zeros(len(points), bool)
    if not others:
        return claimed
    limit = own(points) - margin_m
    for other in others:
        claimed |= other(points) < limit
    return claimed


def exclude_neighbours(fn: OccupancyFn, own_body: Mesh, other_bodies: Sequence[Mesh],
                       margin_m: float = DEFAULT_MARGIN_M) -> OccupancyFn:  # fmt: skip
    """`fn` with 0 at the points another person's body claims (`claimed_by_neighbours`; `fn` is not asked about
    them); `fn` itself without other bodies. Bodies are watertight Meshes in world metres; `margin_m` >= 0."""
    if margin_m < 0:
        raise ValueError(f"exclude_neighbours: argument 'margin_m': expected >= 0 metres, got {margin_m}")
    if not other_bodies:
        return fn
    own = SignedDistance(own_body)
    others = [SignedDistance(body) for body in other_bodies]

    def gated(points: np.ndarray) -> np.ndarray:
        free = ~claimed_by_neighbours(points, own, others, margin_m)
        values = np.zeros(len(points), np.float32)
        if free.any():
            values[free] = fn(points[free])
        return values

    return gated
