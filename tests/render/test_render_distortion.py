"""Distorted cameras: rendered geometry sits where `Camera.project` puts it."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.camera import Camera
from render import Mesh, render
from render.primitives import icosphere
from render.renderer import distortion_valid_radius2

SIZE = 128
BARREL = np.array([-0.25, 0.06, 0.002, -0.001, 0.0])


def _camera(dist) -> Camera:
    K = np.array([[90.0, 0.0, 63.5], [0.0, 92.0, 62.0], [0.0, 0.0, 1.0]])
    return Camera("distorted", SIZE, SIZE, K, dist, np.eye(3), np.zeros(3))


def _wavy_grid(cells: int = 48, half_size: float = 1.6, depth: float = 1.5) -> Mesh:
    """A bumpy height field in front of the camera covering the whole (distorted) view."""
    ticks = np.linspace(-half_size, half_size, cells + 1)
    x, y = np.meshgrid(ticks, ticks)
    z = depth + 0.15 * np.sin(3.0 * x) * np.cos(2.0 * y)
    vertices = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    index = np.arange((cells + 1) ** 2).reshape(cells + 1, cells + 1)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    return Mesh(vertices, faces, attributes=vertices)  # world position as the attribute


def test_rendered_points_reproject_onto_their_pixels(taichi_arch):
    """Interpolated world positions (vertices exactly, interiors approximately) project with the full
    distortion model to within 0.5 px of the pixel they were rendered at."""
    camera, mesh = _camera(BARREL), _wavy_grid()
    out = render(mesh, camera)
    ys, xs = np.nonzero(out.mask[0])
    assert len(ys) > 0.9 * SIZE * SIZE  # the grid fills the view, corners included
    points = out.attributes[0, ys, xs]
    pixels = np.stack([xs, ys], axis=-1)
    error = np.linalg.norm(camera.project(points) - pixels, axis=1)
    assert error.max() < 0.5, error.max()
    # the test is meaningful: ignoring distortion would put the same points many pixels away
    pinhole_error = np.linalg.norm(camera.replace(dist=np.zeros(5)).project(points) - pixels, axis=1)
    assert pinhole_error.max() > 10.0
    # depth is the camera z of the surface point seen there
    assert np.abs(out.depth[0, ys, xs] - points[:, 2]).max() < 1e-3


def test_vertices_land_where_camera_project_puts_them(taichi_arch):
    """The pixel that contains a vertex's projection renders a surface point within 0.5 px of it."""
    camera, mesh = _camera(BARREL), _wavy_grid(cells=24)
    out = render(mesh, camera)
    uv = camera.project(mesh.vertices)
    inside = (uv > 1).all(axis=1) & (uv < SIZE - 2).all(axis=1)
    pixel = np.round(uv[inside]).astype(int)
    rendered = out.attributes[0, pixel[:, 1], pixel[:, 0]]
    # the rendered point near the vertex projects within 0.5 px of that pixel, i.e. within 1.2 px of uv
    assert np.linalg.norm(camera.project(rendered) - pixel, axis=1).max() < 0.5
    assert np.linalg.norm(camera.project(rendered) - uv[inside], axis=1).max() < 1.21
    assert inside.sum() > 100


def test_folded_region_of_the_distortion_model_is_not_drawn(taichi_arch):
    """k1 = -0.5 folds back beyond r^2 = 2/3: a sphere at r = 1 would wrongly appear inside the image."""
    dist = np.array([-0.5, 0.0, 0.0, 0.0, 0.0])
    assert distortion_valid_radius2(dist) == pytest.approx(2.0 / 3.0)
    sphere = icosphere(0.1, center=(2.0, 0.0, 2.0))  # normalised radius 1, distorted to 0.5 -> pixel ~108
    camera = _camera(dist)
    assert camera.sees(sphere.vertices).all()  # Camera.project does map it into the image...
    assert not render(sphere, camera).mask.any()  # ...but the renderer refuses the folded region


def test_distortion_valid_radius_is_where_the_model_stops_growing():
    dist = np.array([-0.3, 0.05, 0.0, 0.0, -0.02])
    s = distortion_valid_radius2(dist)
    radius = lambda r: r * (1 + dist[0] * r**2 + dist[1] * r**4 + dist[4] * r**6)  # noqa: E731
    r = np.sqrt(s)
    assert radius(r - 1e-3) < radius(r) and radius(r + 1e-3) < radius(r)  # a maximum
    assert np.isinf(distortion_valid_radius2(np.zeros(5)))
    assert np.isinf(distortion_valid_radius2(np.array([0.1, 0.01, 0.0, 0.0, 0.0])))
