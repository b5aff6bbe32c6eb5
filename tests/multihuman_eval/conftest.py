"""Small meshes for the metric tests (metres), from `render.primitives`."""

import numpy as np
import pytest

from render import Mesh
from render.primitives import box, icosphere


@pytest.fixture
def make_box():
    """make_box(side_m, offset=(0, 0, 0)) -> axis-aligned cube Mesh (12 triangles) with its min corner at offset.

    Its sides share no vertices, so each side renders with its own flat normal.
    """

    def make(side_m: float, offset=(0.0, 0.0, 0.0)) -> Mesh:
        return box((side_m, side_m, side_m), center=np.asarray(offset, dtype=np.float64) + side_m / 2.0)

    return make


@pytest.fixture
def make_sphere():
    """make_sphere(radius_m, center=(0, 0, 0), subdivisions=5) -> icosphere Mesh (20 * 4**subdivisions faces)."""

    def make(radius_m: float, center=(0.0, 0.0, 0.0), subdivisions: int = 5) -> Mesh:
        return icosphere(radius_m, center=center, subdivisions=subdivisions)

    return make


@pytest.fixture
def merge():
    """merge(*meshes) -> one Mesh holding all their triangles."""

    def make(*meshes: Mesh) -> Mesh:
        offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        return Mesh(
            np.concatenate([m.vertices for m in meshes]),
            np.concatenate([m.faces + offset for m, offset in zip(meshes, offsets)]),
        )

    return make
