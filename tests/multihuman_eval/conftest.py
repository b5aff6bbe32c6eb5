"""Small meshes for the metric tests, built with trimesh's primitives (metres)."""

import numpy as np
import pytest
import trimesh

from multihuman_eval import Mesh


def _mesh(shape: trimesh.Trimesh, offset=(0.0, 0.0, 0.0)) -> Mesh:
    return Mesh(np.asarray(shape.vertices) + np.asarray(offset, dtype=np.float64), shape.faces)


@pytest.fixture
def make_box():
    """make_box(side_m, offset=(0, 0, 0)) -> axis-aligned cube Mesh (12 triangles) with its min corner at offset."""

    def make(side_m: float, offset=(0.0, 0.0, 0.0)) -> Mesh:
        box = trimesh.creation.box(extents=(side_m, side_m, side_m))
        return _mesh(box, np.asarray(offset, dtype=np.float64) + side_m / 2.0)

    return make


@pytest.fixture
def make_sphere():
    """make_sphere(radius_m, center=(0, 0, 0), subdivisions=5) -> icosphere Mesh (20 * 4**subdivisions faces)."""

    def make(radius_m: float, center=(0.0, 0.0, 0.0), subdivisions: int = 5) -> Mesh:
        return _mesh(trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius_m), center)

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
