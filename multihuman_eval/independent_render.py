"""Images of the independent held-out set: Open3D's OffscreenRenderer with lighting baked per view.

The scene (people, props and a tiled floor) is merged into one mesh with vertex colours (several geometries
hang Open3D's render_to_image) and drawn with the unlit shader; the lighting is computed per view into the vertex
colours (`shade`: hemisphere ambient, two or three coloured directional lights, Blinn-Phong highlights), the
backdrop (`backdrop`: gradient, fractal noise, soft panels) fills the pixels nothing covers, then sensor noise.
Open3D draws in a child process with a time limit; past it this project's rasterizer draws the same lit mesh
(`render_views` says which did).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from calibration.camera import Camera
from multihuman_eval.independent_garments import hsv, merge_meshes
from render.mesh import Mesh


def make_floor(tile_m: float, rng: np.random.Generator, half_extent_m: float = 7.0) -> Mesh:
    """A square floor at z = -2 mm of tiles (own vertices per tile, so the joints stay sharp), two tones with
    per-tile variation."""
    tile = tile_m
    n = int(2 * half_extent_m / tile)
    hue = rng.random()
    tones = np.array([_floor_tone(hue, 0.55), _floor_tone(hue + 0.08, 0.35)])
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x0, y0 = (i.ravel() * tile - half_extent_m), (j.ravel() * tile - half_extent_m)
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) * tile
    vertices = np.stack([np.stack([x0 + cx, y0 + cy, np.full_like(x0, -0.002)], -1) for cx, cy in corners], 1)
    base = np.arange(n * n) * 4
    faces = np.concatenate([np.stack([base, base + 1, base + 2], -1), np.stack([base, base + 2, base + 3], -1)])
    tone = tones[(i.ravel() + j.ravel()) % 2] * rng.uniform(0.85, 1.1, (n * n, 1))
    return Mesh(vertices.reshape(-1, 3), faces, colors=np.clip(np.repeat(tone, 4, axis=0), 0, 1))


def _floor_tone(hue: float, value: float) -> tuple[float, float, float]:
    return hsv(hue % 1.0, 0.25, value)


def backdrop(size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) float RGB: a vertical gradient between two colours, fractal noise and 3-6 soft panels."""
    import cv2

    top, bottom = np.array(hsv(rng.random(), 0.3, 0.8)), np.array(hsv(rng.random(), 0.4, 0.35))
    ramp = np.linspace(0, 1, size)[:, None, None]
    image = (1 - ramp) * top + ramp * bottom + np.zeros((1, size, 3))
    for octave in range(5):
        cells = 4 * 2**octave
        noise = cv2.resize(rng.random((cells, cells, 3)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
        image += 0.18 * 0.6**octave * (noise - 0.5)
    for _ in range(rng.integers(3, 7)):
        x, y = rng.integers(0, size, 2)
        w, h = rng.integers(size // 12, size // 3, 2)
        panel = np.zeros((size, size), np.float32)
        panel[y : y + h, x : x + w] = 1.0
        panel = cv2.GaussianBlur(panel, (0, 0), 3)[..., None]
        image = (1 - 0.7 * panel) * image + 0.7 * panel * np.array(hsv(rng.random(), 0.6, rng.uniform(0.3, 0.9)))
    return np.clip(image, 0, 1)


@dataclass(frozen=True)
class Lighting:
    """Baked lighting: hemisphere ambient, directional lights (unit direction towards the light, RGB), a
    specular strength and exponent."""

    ambient: float
    directions: np.ndarray
    colours: np.ndarray
    specular: float
    shininess: float


def random_lighting(rng: np.random.Generator) -> Lighting:
    """Two or three lights from above the horizon, a warm key and cooler fills."""
    count = int(rng.integers(2, 4))
    azimuth = rng.uniform(0, 2 * np.pi, count)
    elevation = np.radians(rng.uniform(20, 70, count))
    directions = np.stack([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)], 1)
    colours = np.array([[1.0, 0.93, 0.8]] + [[0.75, 0.85, 1.0]] * (count - 1)) * np.array([0.75] + [0.35] * (count - 1))[:, None]
    return Lighting(float(rng.uniform(0.25, 0.4)), directions, colours, float(rng.uniform(0.05, 0.2)), float(rng.uniform(8, 30)))


def shade(vertices: np.ndarray, normals: np.ndarray, albedo: np.ndarray, light: Lighting, eye: np.ndarray) -> np.ndarray:
    """(N, 3) lit colours seen from `eye`: albedo x (hemisphere ambient + sum of Lambert lights) + white
    Blinn-Phong highlights, clipped to [0, 1]."""
    ambient = light.ambient * (0.7 + 0.3 * normals[:, 2:3])
    diffuse = np.clip(normals @ light.directions.T, 0, None) @ light.colours
    view = eye - vertices
    view /= np.linalg.norm(view, axis=1, keepdims=True)
    halfway = light.directions[None] + view[:, None]
    halfway /= np.linalg.norm(halfway, axis=2, keepdims=True)
    highlight = (np.clip(np.einsum("nj,nlj->nl", normals, halfway), 0, None) ** light.shininess) @ light.colours.sum(1)
    return np.clip(albedo * (ambient + diffuse) + light.specular * highlight[:, None], 0, 1)


def floor_pixels(camera: Camera, half_extent_m: float) -> np.ndarray:
    """(H, W) bool: pixels whose ray meets the floor square (z = -2 mm, |x|, |y| <= half extent) in front."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width].astype(np.float64)
    rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(camera.K).T @ camera.R  # world directions
    centre = camera.center
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (-0.002 - centre[2]) / rays[..., 2]
    hit = centre[:2] + depth[..., None] * rays[..., :2]
    return (depth > 0) & (np.abs(hit) <= half_extent_m).all(-1)


OPEN3D_TIME_LIMIT_S = 30.0
"""Seconds Open3D gets for a scene's views before the project's rasterizer draws them instead."""


def render_views(meshes: Sequence[Mesh], floor: Mesh, cameras: Sequence[Camera], seed: int,
                 backdrops: Sequence[np.ndarray], rasterizer: str = "open3d") -> tuple[np.ndarray, str]:  # fmt: skip
    """(V, H, W, 3) uint8 views and the rasterizer that drew them ('open3d' or 'project'; `rasterizer` =
    'project' skips Open3D).

    Open3D draws in a child process (spawned: in a process that has built an Anny body its software Vulkan
    device stalls); on a busy 2-core machine its first frame sometimes takes minutes, so after
    OPEN3D_TIME_LIMIT_S the child is stopped and this project's rasterizer draws the same shaded mesh."""
    import multiprocessing

    if rasterizer == "project":
        return draw_views(meshes, floor, cameras, seed, backdrops, "project"), "project"
    pool = multiprocessing.get_context("spawn").Pool(1)
    try:
        job = pool.apply_async(draw_views, (list(meshes), floor, list(cameras), seed, list(backdrops), "open3d"))
        return job.get(timeout=OPEN3D_TIME_LIMIT_S), "open3d"
    except multiprocessing.TimeoutError:
        return draw_views(meshes, floor, cameras, seed, backdrops, "project"), "project"
    finally:
        pool.terminate()


def _open3d_views(merged: Mesh, normals: np.ndarray, light, cameras: Sequence[Camera]) -> list[np.ndarray]:
    """Per camera (H, W, 3) float RGB of `merged` shaded for that view, Open3D unlit shader."""
    import os

    import open3d as o3d

    os.environ.setdefault("LP_NUM_THREADS", "1")  # Mesa's llvmpipe: fewer threads spinning on 2 shared cores
    geometry = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(np.array(merged.vertices, np.float64)),
                                         o3d.utility.Vector3iVector(np.array(merged.faces, np.int32)))  # fmt: skip
    width, height = cameras[0].width, cameras[0].height
    renderer = o3d.visualization.rendering.OffscreenRenderer(width, height)
    renderer.scene.view.set_post_processing(False)
    renderer.scene.set_background([0.0, 0.0, 0.0, 1.0])
    material = o3d.visualization.rendering.MaterialRecord()
    material.shader = "defaultUnlit"
    colours = []
    for camera in cameras:
        geometry.vertex_colors = o3d.utility.Vector3dVector(shade(merged.vertices, normals, merged.colors, light, camera.center))
        renderer.scene.clear_geometry()
        renderer.scene.add_geometry("scene", geometry, material)
        extrinsic = np.eye(4)
        extrinsic[:3, :3], extrinsic[:3, 3] = camera.R, camera.t
        intrinsic = camera.K.copy()
        intrinsic[:2, 2] += 0.5  # Open3D's pixel centres are at +0.5, this project's at integers
        renderer.setup_camera(intrinsic, extrinsic, width, height)
        colours.append(np.asarray(renderer.render_to_image(), np.float32) / 255.0)
    return colours


def _project_views(merged: Mesh, normals: np.ndarray, light, cameras: Sequence[Camera]) -> list[np.ndarray]:
    """The same as `_open3d_views` with this project's rasterizer (ambient 1: the colours are already lit)."""
    from render import RenderSettings, render

    colours = []
    for camera in cameras:
        lit = Mesh(merged.vertices, merged.faces, colors=shade(merged.vertices, normals, merged.colors, light, camera.center))
        colours.append(render([lit], [camera], RenderSettings(ambient=1.0)).rgb[0].astype(np.float32))
    return colours


def draw_views(meshes: Sequence[Mesh], floor: Mesh, cameras: Sequence[Camera], seed: int,
               backdrops: Sequence[np.ndarray], rasterizer: str = "open3d") -> np.ndarray:  # fmt: skip
    """(V, H, W, 3) uint8 RGB: `meshes` and the `floor` merged into one coloured mesh, lit per view (`shade`),
    drawn by `rasterizer` ('open3d': OffscreenRenderer, unlit shader, one geometry; 'project': render.render),
    over the `backdrops` where nothing is drawn (neither the meshes, by this project's rasterizer, nor the
    floor), plus sensor noise (sigma 1.5 / 255); lights and noise drawn from `seed`."""
    import trimesh

    from render import render

    rng = np.random.default_rng(seed)
    merged = merge_meshes([*meshes, floor])
    normals = trimesh.Trimesh(merged.vertices, merged.faces, process=False).vertex_normals
    light = random_lighting(rng)
    draw = _open3d_views if rasterizer == "open3d" else _project_views
    colours = draw(merged, normals, light, cameras)
    covered = render(list(meshes), list(cameras)).mask
    half_extent = float(np.abs(floor.vertices[:, :2]).max())
    images = []
    for v, (camera, backdrop_image, colour) in enumerate(zip(cameras, backdrops, colours)):
        empty = ~covered[v] & ~floor_pixels(camera, half_extent)
        image = np.where(empty[..., None], backdrop_image, colour) + rng.normal(0, 1.5 / 255, colour.shape)
        images.append((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.stack(images)
