"""Mesh validation and per-vertex helpers."""

from __future__ import annotations

import numpy as np
import pytest

from render import Mesh, MeshError, global_normal_colors, vertex_normals
from render.primitives import box, capsule, icosphere


def test_vertex_normals_of_a_sphere_point_outwards():
    sphere = icosphere(2.0, center=(1.0, 2.0, 3.0), subdivisions=3)
    radial = (sphere.vertices - [1.0, 2.0, 3.0]) / 2.0
    normals = vertex_normals(sphere.vertices, sphere.faces)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0)
    assert np.einsum("ij,ij->i", normals, radial).min() > 0.999


def test_vertex_normals_are_area_weighted():
    """Vertex 0 joins a big triangle in the z = 0 plane (normal +z, area 2) and a small one in the x = 0
    plane (normal +x, area 0.5): its normal leans 4 : 1 towards +z."""
    vertices = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 1, 0], [0, 0, 1]], float)
    faces = np.array([[0, 1, 2], [0, 3, 4]])
    normal = vertex_normals(vertices, faces)[0]
    assert np.allclose(normal, np.array([1.0, 0.0, 4.0]) / np.sqrt(17.0))


def test_global_normal_colors_encode_canonical_normals():
    sphere = icosphere(1.0, subdivisions=2)
    colors = global_normal_colors(sphere.vertices, sphere.faces)
    assert colors.shape == (sphere.num_vertices, 3) and colors.min() >= 0.0 and colors.max() <= 1.0
    assert np.allclose(colors * 2.0 - 1.0, vertex_normals(sphere.vertices, sphere.faces))
    top = np.argmax(sphere.vertices[:, 2])
    assert np.allclose(colors[top], [0.5, 0.5, 1.0], atol=1e-6)


def test_primitives_are_closed_meshes_of_the_requested_size():
    person = capsule(radius=0.2, height=1.7, center=(0.0, 0.0, 0.85), sections=32)
    assert np.allclose(person.vertices.min(axis=0), [-0.2, -0.2, 0.0], atol=1e-6)
    assert np.allclose(person.vertices.max(axis=0), [0.2, 0.2, 1.7], atol=1e-6)
    assert box((1, 2, 3)).num_faces == 12 and icosphere(subdivisions=3).num_faces == 1280


def test_mesh_validation_names_the_field():
    vertices, faces = np.zeros((3, 3)), np.array([[0, 1, 2]])
    with pytest.raises(MeshError, match="'vertices': expected shape"):
        Mesh(np.zeros((3, 2)), faces)
    with pytest.raises(MeshError, match=r"'faces': expected indices in \[0, 2\], got \[0, 3\]"):
        Mesh(vertices, np.array([[0, 1, 3]]))
    with pytest.raises(MeshError, match="'faces': expected integer"):
        Mesh(vertices, faces.astype(float))
    with pytest.raises(MeshError, match=r"'colors': expected values in \[0, 1\]"):
        Mesh(vertices, faces, colors=np.full((3, 3), 2.0))
    with pytest.raises(MeshError, match=r"'attributes': expected shape \(3, C\)"):
        Mesh(vertices, faces, attributes=np.zeros((4, 2)))
    with pytest.raises(MeshError, match="'normals': expected finite"):
        Mesh(vertices, faces, normals=np.full((3, 3), np.nan))
    mesh = Mesh(vertices, faces)
    assert not mesh.vertices.flags.writeable and mesh.faces.dtype == np.int64
