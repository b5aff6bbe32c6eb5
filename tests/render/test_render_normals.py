"""Camera-space normals, lighting and the body global normal map."""

from __future__ import annotations

import numpy as np

from render import Mesh, RenderSettings, global_normal_colors, normal_to_rgb, render
from render.primitives import box, icosphere, look_at_camera


def _view_rays(camera, out, v, pixel_rays):
    ys, xs = np.nonzero(out.mask[v])
    _, directions = pixel_rays(camera)
    rays_cam = directions[ys, xs] @ camera.R.T  # camera frame, z = 1
    return ys, xs, rays_cam / np.linalg.norm(rays_cam, axis=1, keepdims=True)


def test_normals_are_unit_and_face_the_camera(scene, pixel_rays):
    out = scene.output
    for v, camera in enumerate(scene.cameras):
        ys, xs, rays = _view_rays(camera, out, v, pixel_rays)
        normals = out.normal[v, ys, xs]
        assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
        facing = np.einsum("ij,ij->i", normals, rays)
        on_box = out.instance_id[v, ys, xs] == 1  # flat faces: every visible normal faces the camera
        assert (facing[on_box] < 0).all(), camera.name
        # smooth sphere normals may tip over only at the silhouette
        assert (facing[~on_box] < 0).mean() > 0.99, camera.name


def test_sphere_normals_match_the_analytic_ones(scene, pixel_rays):
    out, v, camera = scene.output, 0, scene.cameras[0]
    center = scene.meshes[0].vertices.mean(axis=0)
    ys, xs = np.nonzero(out.instance_id[v] == 0)
    origins, directions = pixel_rays(camera)
    points = origins[ys, xs] + out.depth[v, ys, xs, None] * directions[ys, xs]
    expected = (points - center) @ camera.R.T
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    angle = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", expected, out.normal[v, ys, xs]), -1, 1)))
    assert np.median(angle) < 1.0 and angle.max() < 5.0


def test_lambert_plus_ambient_shading(taichi_arch):
    camera = look_at_camera("c", (0.0, -3.0, 1.0), (0.0, 0.0, 1.0), 64)
    albedo = np.array([0.8, 0.5, 0.2])
    panel = box((1.0, 0.01, 1.0), center=(0.0, 0.0, 1.0), color=albedo)  # front side faces the camera
    centre = (32, 32)
    headlight = render(panel, camera, RenderSettings(ambient=0.25)).rgb[0][centre]
    assert np.allclose(headlight, albedo, atol=1e-5)  # n . l = 1
    behind = render(panel, camera, RenderSettings(ambient=0.25, light_direction=(0.0, 1.0, 0.0))).rgb[0][centre]
    assert np.allclose(behind, 0.25 * albedo, atol=1e-5)  # lit from behind: ambient only
    oblique = RenderSettings(ambient=0.25, light_direction=(0.0, -1.0, 1.0), background=(0.0, 1.0, 0.0))
    out = render(panel, camera, oblique)
    assert np.allclose(out.rgb[0][centre], albedo * (0.25 + 0.75 * np.cos(np.radians(45))), atol=1e-5)
    assert np.allclose(out.rgb[0][0, 0], [0.0, 1.0, 0.0])  # background


def test_global_normal_map_keeps_canonical_colours_when_the_body_moves(taichi_arch):
    """Canonical-frame normals as colours: a rotated and moved sphere shows the colour of its canonical
    normal at each surface point, not of its posed normal."""
    canonical = icosphere(0.4, subdivisions=4)
    colors = global_normal_colors(canonical.vertices, canonical.faces)
    angle = np.radians(90.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    posed = canonical.vertices @ rotation.T + [0.0, 0.0, 1.0]
    camera = look_at_camera("c", (0.0, -3.0, 1.0), (0.0, 0.0, 1.0), 96)
    out = render(Mesh(posed, canonical.faces, attributes=colors), camera)
    front = out.mask[0] & (out.normal[0, ..., 2] < -0.9)  # the part facing the camera
    # the camera sees posed normal -y, i.e. canonical normal R^T (0, -1, 0) = (-1, 0, 0) -> colour (0, .5, .5)
    assert np.allclose(out.attributes[0][front].mean(axis=0), [0.0, 0.5, 0.5], atol=0.03)
    # the ordinary normal map encodes the posed, camera-frame normal instead
    assert np.allclose(normal_to_rgb(out.normal[0][front]).mean(axis=0), [0.5, 0.5, 0.0], atol=0.03)
