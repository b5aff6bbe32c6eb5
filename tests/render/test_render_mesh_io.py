"""Mesh file IO: load_mesh (PLY/OBJ, vertex colours) and save_mesh (atomic binary PLY)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from render import Mesh, MeshError, load_mesh, save_mesh
from render.primitives import icosphere


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
def test_load_mesh_round_trips_ply_and_obj(tmp_path, suffix):
    sphere = icosphere(0.5, center=(1.0, 2.0, 3.0), subdivisions=2)
    path = tmp_path / f"person{suffix}"
    trimesh.Trimesh(sphere.vertices, sphere.faces, process=False).export(path)
    loaded = load_mesh(path)
    np.testing.assert_allclose(loaded.vertices, sphere.vertices, atol=1e-6)
    np.testing.assert_array_equal(loaded.faces, sphere.faces)
    assert loaded.colors is None


def test_load_mesh_reads_vertex_colours_in_0_1(tmp_path):
    sphere = icosphere(0.5, subdivisions=1)
    rgba = np.tile(np.array([[255, 0, 51, 200]], np.uint8), (sphere.num_vertices, 1))
    rgba[0] = [0, 102, 255, 255]
    path = tmp_path / "coloured.ply"
    trimesh.Trimesh(sphere.vertices, sphere.faces, vertex_colors=rgba, process=False).export(path)
    loaded = load_mesh(path)
    np.testing.assert_allclose(loaded.colors[0], [0.0, 0.4, 1.0])
    np.testing.assert_allclose(loaded.colors[1:], np.tile([1.0, 0.0, 0.2], (sphere.num_vertices - 1, 1)))


def test_load_mesh_names_a_missing_file(tmp_path):
    with pytest.raises(MeshError, match="missing.ply: expected a mesh file, found none"):
        load_mesh(tmp_path / "missing.ply")


def test_load_mesh_rejects_a_point_cloud(tmp_path):
    path = tmp_path / "cloud.ply"
    trimesh.PointCloud(np.random.default_rng(0).random((20, 3))).export(path)
    with pytest.raises(MeshError, match="cloud.ply: expected triangles"):
        load_mesh(path)


def test_load_mesh_names_an_unreadable_file(tmp_path):
    path = tmp_path / "truncated.ply"
    path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 5\nproperty float x\nend_header\nab")
    with pytest.raises(MeshError, match="truncated.ply: expected a readable mesh file, got ValueError"):
        load_mesh(path)


def test_import_render_stays_light():
    # Mesh IO imports trimesh inside its functions, and Taichi starts on the first render only.
    code = "import sys, render; print(sorted({'taichi', 'trimesh', 'open3d'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"


def test_save_mesh_round_trips_geometry_and_colours(tmp_path):
    sphere = icosphere(0.9, center=(0.3, -1.2, 0.9), subdivisions=2)
    colors = np.random.default_rng(0).random((sphere.num_vertices, 3))
    path = tmp_path / "out" / "person_0.ply"  # the folder is created
    save_mesh(path, Mesh(sphere.vertices, sphere.faces, colors=colors))
    assert path.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    loaded = load_mesh(path)
    np.testing.assert_allclose(loaded.vertices, sphere.vertices, atol=1e-6)  # float32 in the file
    np.testing.assert_array_equal(loaded.faces, sphere.faces)
    np.testing.assert_allclose(loaded.colors, colors, atol=0.5 / 255 + 1e-9)  # 8-bit colours
    assert sorted(p.name for p in path.parent.iterdir()) == ["person_0.ply"]  # no temp file left


def test_save_mesh_without_colours_writes_none(tmp_path):
    sphere = icosphere(0.5, subdivisions=1)
    path = tmp_path / "plain.ply"
    save_mesh(path, sphere)
    assert b"property uchar red" not in path.read_bytes()
    assert load_mesh(path).colors is None


def test_save_mesh_refuses_a_mesh_without_faces_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "person_1.ply"
    save_mesh(path, icosphere(0.5, subdivisions=1))
    before = path.read_bytes()
    with pytest.raises(MeshError, match=r"person_1.ply: expected a mesh with at least one face to write, got Mesh\(3"):
        save_mesh(path, Mesh(np.eye(3), np.zeros((0, 3), np.int64)))
    assert path.read_bytes() == before


def test_save_mesh_is_atomic_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "person_2.ply"
    save_mesh(path, icosphere(0.5, subdivisions=1))
    before = path.read_bytes()

    def half_write(self, data):  # a write that dies half-way, as on a full disk
        with open(self, "wb") as handle:
            handle.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", half_write)
    with pytest.raises(OSError, match="disk full"):
        save_mesh(path, icosphere(0.7, subdivisions=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["person_2.ply"]


def test_mesh_repr_is_short():
    mesh = Mesh(np.eye(3), [[0, 1, 2]], colors=np.full((3, 3), 0.5))
    assert repr(mesh) == "Mesh(3 vertices, 1 faces, colors)"
