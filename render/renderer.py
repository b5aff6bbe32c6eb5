"""Render meshes into many calibrated views at once: depth, ids, barycentrics, normals, RGB, attributes.

Distortion (documented choice): vertices are projected with `Camera.project`, i.e. with the full OpenCV
distortion model of `calibration`, and triangles are rasterized with straight edges between the distorted
vertex positions. Every vertex therefore lands exactly where `Camera.project` puts it; inside a triangle the
error is the curvature of the distorted edge over one triangle, negligible for meshes whose triangles span a
few pixels (body meshes, subdivided props). Interpolation uses 1/z linear in the distorted image, which is
exact without distortion. Large triangles under strong distortion should be subdivided first.

Clipping: faces with a vertex closer than `RenderSettings.near` to the camera plane, or, under radial
distortion, beyond the radius where the distortion polynomial stops being monotonic (the model folds back
there), are not drawn at all (no partial clipping); capture rigs keep people metres away, so this is a
non-issue in practice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from calibration.camera import Camera
from render.backend import init_taichi
from render.mesh import Mesh, MeshError


class RenderError(ValueError):
    """Bad arguments to `render`; the message names the argument and says expected vs received."""


@dataclass(frozen=True)
class RenderSettings:
    """How to render; the defaults suit synthetic captures."""

    ambient: float = 0.3
    """Share of the albedo lit regardless of orientation, in [0, 1]; the rest is Lambertian."""
    light_direction: tuple[float, float, float] | None = None
    """World direction from the surface towards a distant light; None = a headlight: a distant light behind
    each camera, shining along its optical axis."""
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """RGB in [0, 1] of pixels no face covers."""
    near: float = 0.01
    """Faces with a vertex closer than this to the camera plane (metres of camera z) are not drawn."""
    cull_backfaces: bool = False
    """Skip faces seen from behind (clockwise in the image); off, so open meshes show their inside."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.ambient <= 1.0:
            raise RenderError(f"RenderSettings.ambient: expected a value in [0, 1], got {self.ambient!r}")
        if self.near <= 0.0:
            raise RenderError(f"RenderSettings.near: expected > 0 metres, got {self.near!r}")
        background = np.asarray(self.background, dtype=np.float64)
        if background.shape != (3,) or background.min() < 0.0 or background.max() > 1.0:
            raise RenderError(f"RenderSettings.background: expected 3 values in [0, 1], got {self.background!r}")
        if self.light_direction is not None:
            light = np.asarray(self.light_direction, dtype=np.float64)
            if light.shape != (3,) or not np.linalg.norm(light) > 0.0:
                raise RenderError(
                    "RenderSettings.light_direction: expected a non-zero 3-vector or None, "
                    f"got {self.light_direction!r}"
                )


@dataclass(frozen=True, eq=False)
class RenderOutput:
    """Per-view images of one render call, numpy arrays with V views (in the order of the cameras) of H x W.

    Pixel (x, y) = `array[v, y, x]` is the sample at the pixel centre (x, y), origin top-left.

    Attributes:
        camera_names: (V,) the cameras' names.
        depth: (V, H, W) float32 camera z (not ray length) in metres; +inf where empty.
        mask: (V, H, W) bool, True where some face covers the pixel (== triangle_id >= 0).
        instance_id: (V, H, W) int32 index of the mesh in the `meshes` argument; -1 where empty.
        triangle_id: (V, H, W) int32: if triangle_id[v, y, x] = j >= 0 then meshes[instance_id[v, y, x]].faces[j]
            is the nearest face at that pixel; -1 where empty.
        barycentric: (V, H, W, 3) float32 perspective-correct weights of that face's 3 vertices (sum 1);
            0 where empty. Interpolate anything per-vertex with them.
        normal: (V, H, W, 3) float32 unit surface normals in the camera frame (OpenCV axes: x right,
            y down, z forward, so surfaces facing the camera have normal z < 0), interpolated from the
            vertex normals; 0 where empty. `normal_to_rgb` gives the usual (n + 1) / 2 colours.
        rgb: (V, H, W, 3) float32 in [0, 1]: albedo * (ambient + (1 - ambient) * max(0, n . l)); the
            background colour where empty.
        attributes: (V, H, W, C) float32 interpolated `Mesh.attributes` (0 where empty, and 0 for meshes
            without attributes), or None when no mesh has attributes.
    """

    camera_names: tuple[str, ...]
    depth: np.ndarray
    mask: np.ndarray
    instance_id: np.ndarray
    triangle_id: np.ndarray
    barycentric: np.ndarray
    normal: np.ndarray
    rgb: np.ndarray
    attributes: np.ndarray | None = None

    @property
    def num_views(self) -> int:
        return len(self.camera_names)


def normal_to_rgb(normal: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(..., 3) unit normals -> (..., 3) colours (n + 1) / 2 in [0, 1]; 0 where `mask` (...,) is False."""
    colors = (np.asarray(normal, dtype=np.float32) + 1.0) * 0.5
    if mask is not None:
        colors = colors * np.asarray(mask, dtype=np.float32)[..., None]
    return colors


def distortion_valid_radius2(dist: np.ndarray) -> float:
    """Largest squared normalised radius r^2 up to which r (1 + k1 r^2 + k2 r^4 + k3 r^6) keeps growing.

    The smallest positive root s of d/dr = 1 + 3 k1 s + 5 k2 s^2 + 7 k3 s^3; +inf when there is none.
    Tangential terms are ignored (they are small where this matters).
    """
    k1, k2, _, _, k3 = np.asarray(dist, dtype=np.float64)
    roots = np.roots(np.trim_zeros([7.0 * k3, 5.0 * k2, 3.0 * k1, 1.0], "f"))
    positive = [r.real for r in np.atleast_1d(roots) if abs(r.imag) < 1e-12 and r.real > 0.0]
    return min(positive) if positive else float("inf")


def _as_list(value, kind, name: str) -> list:
    items = [value] if isinstance(value, kind) else list(value)
    if not items:
        raise RenderError(f"argument '{name}': expected at least one {kind.__name__}, got none")
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise RenderError(f"argument '{name}'[{index}]: expected a {kind.__name__}, got {type(item).__name__}")
    return items


def _project(meshes: list[Mesh], cameras: list[Camera], near: float) -> tuple[np.ndarray, np.ndarray]:
    """(V, N, 2) float32 pixels and (V, N) float32 camera z of all vertices; z = -1 marks vertices not to draw."""
    vertices = np.concatenate([m.vertices for m in meshes])
    pixels = np.empty((len(cameras), len(vertices), 2), np.float32)
    depths = np.empty((len(cameras), len(vertices)), np.float32)
    for v, camera in enumerate(cameras):
        x_cam = camera.world_to_camera(vertices)
        z = x_cam[:, 2]
        drawable = z > near
        if camera.has_distortion:
            r2 = (x_cam[:, 0] ** 2 + x_cam[:, 1] ** 2) / np.maximum(z, near) ** 2
            drawable &= r2 < distortion_valid_radius2(camera.dist)
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = camera.project(vertices)
        pixels[v] = np.where(drawable[:, None], uv, 0.0)
        depths[v] = np.where(drawable, z, -1.0)
    return pixels, depths


def _world_light_to_camera(cameras: list[Camera], light_direction) -> np.ndarray:
    """(V, 3) float32 unit direction towards the light in each camera frame."""
    if light_direction is None:
        return np.tile(np.array([0.0, 0.0, -1.0], np.float32), (len(cameras), 1))
    light = np.asarray(light_direction, dtype=np.float64)
    light /= np.linalg.norm(light)
    return np.stack([camera.R @ light for camera in cameras]).astype(np.float32)


@dataclass(frozen=True)
class _PackedMeshes:
    """All meshes of a render call concatenated into the arrays the kernels take."""

    faces: np.ndarray  # (F, 3) int32 indices into the concatenated vertices
    face_instance: np.ndarray  # (F,) int32 mesh index of each face
    instance_first_face: np.ndarray  # (M,) int32 index of each mesh's first face
    surface: np.ndarray  # (N, 6) float32 [albedo rgb, world normal]
    attributes: np.ndarray | None  # (N, C) float32, zeros for meshes without attributes


def _pack(meshes: list[Mesh]) -> _PackedMeshes:
    channels = {m.attributes.shape[1] for m in meshes if m.attributes is not None}
    if len(channels) > 1:
        raise MeshError(
            "argument 'meshes': expected the same number of attribute channels C in every mesh that has "
            f"attributes, got {sorted(channels)}"
        )
    num_faces = [m.num_faces for m in meshes]
    vertex_offsets = np.cumsum([0] + [m.num_vertices for m in meshes])[:-1]
    attributes = None
    if channels:
        (c,) = channels
        attributes = np.concatenate(
            [m.attributes if m.attributes is not None else np.zeros((m.num_vertices, c)) for m in meshes]
        ).astype(np.float32)
    return _PackedMeshes(
        faces=np.concatenate([m.faces + offset for m, offset in zip(meshes, vertex_offsets)]).astype(np.int32),
        face_instance=np.repeat(np.arange(len(meshes), dtype=np.int32), num_faces),
        instance_first_face=np.cumsum([0] + num_faces)[:-1].astype(np.int32),
        surface=np.concatenate([np.hstack([m.vertex_colors(), m.vertex_normals()]) for m in meshes]).astype(
            np.float32
        ),
        attributes=attributes,
    )


def render(
    meshes: Mesh | Sequence[Mesh],
    cameras: Camera | Sequence[Camera],
    settings: RenderSettings = RenderSettings(),
) -> RenderOutput:
    """Rasterize all `meshes` together (one z-buffer, so nearer meshes hide farther ones) into every camera.

    Args:
        meshes: one Mesh or a sequence of M meshes (people, objects); their index is the instance id.
        cameras: one Camera or a sequence of V cameras, all of the same width and height.
        settings: lighting, background, near plane, culling.

    Returns:
        RenderOutput with (V, H, W, ...) arrays; see its docstring for the encodings.

    Example:
        >>> from calibration.ring_rig import ring_rig
        >>> from render import render, primitives
        >>> out = render([primitives.icosphere(0.5, center=(0, 0, 1))], list(ring_rig(6, image_size=(256, 256)).cameras))
        >>> out.depth.shape, int(out.instance_id.max())
        ((6, 256, 256), 0)
    """
    meshes = _as_list(meshes, Mesh, "meshes")
    cameras = _as_list(cameras, Camera, "cameras")
    if len({camera.image_size for camera in cameras}) != 1:
        raise RenderError(
            "argument 'cameras': expected one image size for all cameras (outputs are stacked), got "
            + ", ".join(f"{c.name}={c.width}x{c.height}" for c in cameras)
        )
    packed = _pack(meshes)
    init_taichi()
    from render import kernels  # imports taichi; kept out of `import render`

    width, height = cameras[0].image_size
    image = (len(cameras), height, width)
    pixels, depths = _project(meshes, cameras, settings.near)
    zbuffer = np.full(image, kernels.EMPTY_KEY, np.int64)
    kernels.rasterize(pixels, depths, packed.faces, int(settings.cull_backfaces), zbuffer)

    depth = np.empty(image, np.float32)
    face_id, instance_id, triangle_id = (np.empty(image, np.int32) for _ in range(3))
    barycentric = np.empty((*image, 3), np.float32)
    kernels.resolve(
        zbuffer, pixels, depths, packed.faces, packed.face_instance, packed.instance_first_face,
        depth, face_id, instance_id, triangle_id, barycentric,
    )  # fmt: skip

    normal, rgb = np.empty((*image, 3), np.float32), np.empty((*image, 3), np.float32)
    kernels.shade(
        packed.surface, packed.faces, face_id, barycentric,
        np.stack([camera.R for camera in cameras]).astype(np.float32),
        _world_light_to_camera(cameras, settings.light_direction), float(settings.ambient),
        np.asarray(settings.background, np.float32), normal, rgb,
    )  # fmt: skip

    attributes = None
    if packed.attributes is not None:
        attributes = np.empty((*image, packed.attributes.shape[1]), np.float32)
        kernels.interpolate(packed.attributes, packed.faces, face_id, barycentric, attributes)

    return RenderOutput(
        camera_names=tuple(camera.name for camera in cameras),
        depth=depth,
        mask=face_id >= 0,
        instance_id=instance_id,
        triangle_id=triangle_id,
        barycentric=barycentric,
        normal=normal,
        rgb=rgb,
        attributes=attributes,
    )


def render_views(
    meshes: Mesh | Sequence[Mesh], cameras: Sequence[Camera], field: str, settings: RenderSettings = RenderSettings()
) -> list[np.ndarray]:
    """One output `field` of `render` (e.g. ``"instance_id"``, ``"attributes"``) per view, at each camera's own
    image size: one render per distinct size, so rigs of mixed image sizes work. Returns V (H_v, W_v, ...) arrays."""
    views: list = [None] * len(cameras)
    for size in dict.fromkeys(camera.image_size for camera in cameras):
        picked = [v for v, camera in enumerate(cameras) if camera.image_size == size]
        for v, value in zip(picked, getattr(render(meshes, [cameras[v] for v in picked], settings), field)):
            views[v] = value
    return views
