"""Mesh validation and PLY/OBJ loading."""

import numpy as np
import pytest
import trimesh

from multihuman_eval import Mesh, MeshError, load_mesh


def test_mesh_stores_read_only_float64_and_int64(make_box):
    box = make_box(1.0)
    assert box.vertices.dtype == np.float64 and box.faces.dtype == np.int64
    assert box.faces.shape == (12, 3)
    with pytest.raises(ValueError):
        box.vertices[0, 0] = 5.0


@pytest.mark.parametrize(
    ("vertices", "faces", "message"),
    [
        (np.zeros((3, 2)), [[0, 1, 2]], r"vertices: expected shape \(N, 3\), got \(3, 2\)"),
        ([[0, 0, 0], [1, 0, 0], [0, np.nan, 0]], [[0, 1, 2]], "vertices: expected finite"),
        (np.eye(3), [[0, 1, 3]], r"faces: expected indices in \[0, 2\], got \[0, 3\]"),
        (np.eye(3), np.zeros((0, 3), dtype=int), r"faces: expected shape \(F, 3\) with F >= 1"),
        (np.eye(3), [[0.0, 1.0, 2.0]], "faces: expected integer indices"),
    ],
)
def test_mesh_rejects_bad_input_with_expected_and_received(vertices, faces, message):
    with pytest.raises(MeshError, match=message):
        Mesh(vertices, faces)


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
def test_load_mesh_round_trips_ply_and_obj(tmp_path, make_sphere, suffix):
    sphere = make_sphere(0.5, center=(1.0, 2.0, 3.0), subdivisions=2)
    path = tmp_path / f"person{suffix}"
    trimesh.Trimesh(sphere.vertices, sphere.faces, process=False).export(path)
    loaded = load_mesh(path)
    np.testing.assert_allclose(loaded.vertices, sphere.vertices, atol=1e-6)
    np.testing.assert_array_equal(loaded.faces, sphere.faces)


def test_load_mesh_names_a_missing_file(tmp_path):
    with pytest.raises(MeshError, match="missing.ply: expected a mesh file, found none"):
        load_mesh(tmp_path / "missing.ply")


def test_load_mesh_rejects_a_point_cloud(tmp_path):
    path = tmp_path / "cloud.ply"
    trimesh.PointCloud(np.random.default_rng(0).random((20, 3))).export(path)
    with pytest.raises(MeshError, match="cloud.ply: expected triangles"):
        load_mesh(path)
