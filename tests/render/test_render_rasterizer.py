"""Rasterizer rules: many views equal single views, coverage at pixel centres, culling, errors."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.camera import Camera
from render import Mesh, MeshError, RenderError, RenderSettings, render
from render.primitives import icosphere, look_at_camera

FIELDS = ("depth", "mask", "instance_id", "triangle_id", "barycentric", "normal", "rgb")


def test_many_views_at_once_equal_each_view_alone(scene):
    for v, camera in enumerate(scene.cameras):
        alone = render(scene.meshes, [camera])
        for name in FIELDS:
            assert np.array_equal(getattr(alone, name)[0], getattr(scene.output, name)[v]), (camera.name, name)
    assert scene.output.camera_names == tuple(c.name for c in scene.cameras)
    assert scene.output.depth.shape == (4, 160, 160) and scene.output.normal.shape == (4, 160, 160, 3)


def _frontal_camera(size: int = 64) -> Camera:
    """Looks down +z from the origin; f = 128 px and a plane at z = 2 make pixel <-> metre maps exact."""
    c = (size - 1) / 2.0
    return Camera("frontal", size, size, np.array([[128.0, 0, c], [0, 128.0, c], [0, 0, 1]]))


def _plane_through_pixels(corners_px: np.ndarray, faces: np.ndarray, camera: Camera, z: float = 2.0) -> Mesh:
    """A planar mesh at depth z whose vertices project exactly onto `corners_px` (P, 2)."""
    xy = (corners_px - camera.K[:2, 2]) / np.diag(camera.K)[:2] * z
    return Mesh(np.column_stack([xy, np.full(len(xy), z)]), faces)


def test_coverage_is_watertight_and_follows_the_top_left_rule(taichi_arch):
    """A rectangle [10, 50] x [8, 40] (pixel units) cut into many triangles with vertices exactly on
    pixel centres and at random sub-pixel spots: every pixel centre inside is covered, those on the
    top and left borders too, those on the bottom and right borders not (one owner per shared edge)."""
    camera = _frontal_camera()
    rng = np.random.default_rng(0)
    xs, ys = np.linspace(10, 50, 9), np.linspace(8, 40, 9)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)  # (9, 9, 2), border vertices on integer pixels
    grid[1:-1, 1:-1] += rng.uniform(-1.5, 1.5, size=(7, 7, 2))
    grid[2:-2:2, 2:-2:2] = np.round(grid[2:-2:2, 2:-2:2])  # some interior vertices exactly on pixels
    index = np.arange(81).reshape(9, 9)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    out = render(_plane_through_pixels(grid.reshape(-1, 2), faces, camera), camera)
    expected = np.zeros((64, 64), bool)
    expected[8:40, 10:50] = True  # rows y in [8, 40), columns x in [10, 50)
    assert np.array_equal(out.mask[0], expected)
    assert np.allclose(out.depth[0][expected], 2.0, atol=1e-6)


def test_backface_culling(scene):
    """Culling changes nothing on closed meshes (up to silhouette ties); an inward-wound sphere then
    shows its far half, seen from inside."""
    culled = render(scene.meshes, scene.cameras, RenderSettings(cull_backfaces=True))
    assert (culled.mask == scene.output.mask).mean() > 0.999
    both = culled.mask & scene.output.mask
    assert np.array_equal(culled.depth[both], scene.output.depth[both])
    sphere = scene.meshes[0]
    inside_out = Mesh(sphere.vertices, sphere.faces[:, ::-1])
    near_half = render(sphere, scene.cameras[0], RenderSettings(cull_backfaces=True))
    far_half = render(inside_out, scene.cameras[0], RenderSettings(cull_backfaces=True))
    both = near_half.mask & far_half.mask
    assert both.sum() > 0.99 * near_half.mask.sum()
    assert (far_half.depth[both] > near_half.depth[both]).all()


def test_faces_crossing_the_near_plane_are_not_drawn(taichi_arch):
    camera = _frontal_camera()
    around_camera = icosphere(0.5, center=(0.0, 0.0, 0.2))  # the camera sits inside the sphere
    out = render(around_camera, camera, RenderSettings(near=0.01))
    assert out.mask.any()  # the far half is drawn
    assert np.all(out.depth[out.mask] > 0.3)  # near faces would be at z < 0.2


def test_no_faces_renders_an_empty_image(taichi_arch):
    out = render(Mesh(np.zeros((0, 3)), np.zeros((0, 3), int)), _frontal_camera(16))
    assert not out.mask.any() and np.isposinf(out.depth).all() and (out.instance_id == -1).all()


def test_attributes_are_zero_on_meshes_without_them(taichi_arch):
    camera = look_at_camera("c", (0.0, -3.0, 1.0), (0.0, 0.0, 1.0), 64)
    left = icosphere(0.3, center=(-0.5, 0.0, 1.0))
    right = icosphere(0.3, center=(0.5, 0.0, 1.0))
    labelled = Mesh(right.vertices, right.faces, attributes=np.tile([[1.0, 2.0]], (right.num_vertices, 1)))
    out = render([left, labelled], camera)
    assert out.attributes.shape == (1, 64, 64, 2)
    assert np.allclose(out.attributes[out.instance_id == 1], [1.0, 2.0], atol=1e-5)
    assert (out.attributes[out.instance_id != 1] == 0).all()
    assert render(left, camera).attributes is None


def test_errors_name_the_argument():
    small, large = _frontal_camera(16), _frontal_camera(32)
    sphere = icosphere(0.2, center=(0.0, 0.0, 2.0))
    with pytest.raises(RenderError, match="argument 'cameras'.*frontal=16x16, frontal=32x32"):
        render(sphere, [small, large])
    with pytest.raises(RenderError, match=r"argument 'meshes'\[1\]: expected a Mesh, got ndarray"):
        render([sphere, np.zeros((3, 3))], small)
    with pytest.raises(RenderError, match="argument 'cameras': expected at least one Camera"):
        render(sphere, [])
    two, three = (Mesh(sphere.vertices, sphere.faces, attributes=np.zeros((sphere.num_vertices, c))) for c in (2, 3))
    with pytest.raises(MeshError, match=r"attribute channels C.*\[2, 3\]"):
        render([two, three], small)
    with pytest.raises(RenderError, match="RenderSettings.ambient"):
        RenderSettings(ambient=1.5)
