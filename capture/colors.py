"""Vertex colours of a reconstructed mesh from every view that sees each vertex, weighted by the view angle.

Rule (per vertex v with unit outward normal n and per view with camera centre c):

    d = (c - v) / |c - v|                      direction to the camera
    w = max(n . d, 0)                           the view angle's cosine: a grazing view counts little
    the view counts when w >= MIN_COSINE, v projects inside the image, no part of the mesh lies between v and c
    (ray cast with Open3D, starting a small offset off the surface), and the `allowed` mask of the view is
    True at v's pixel (e.g. "this person's label", so a person in front does not lend its colour)

    colour(v) = sum_views w * image(pixel(v)) / sum_views w      (bilinear image sampling)

Vertices that no view sees take the colour of the nearest seen vertex (grey if no vertex is seen at all).

    from capture.colors import color_mesh
    coloured, seen_views = color_mesh(mesh, cameras, images, allowed)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from calibration.camera import Camera
from render.mesh import Mesh, raycasting_scene

MIN_COSINE = 0.1
"""Views closer than about 84 degrees to grazing are used; more grazing ones are ignored."""
UNSEEN_COLOR = (0.6, 0.6, 0.6)
"""Colour of every vertex when no vertex of the mesh is seen by any view."""


class ColorError(ValueError):
    """Inputs of the colouring that do not match; the message names the argument, expected vs received."""


def _bilinear(image: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """(N, 3) float colours of the (H, W, 3) float image at (N, 2) pixel positions (x, y), clamped at the border."""
    height, width = image.shape[:2]
    x = np.clip(pixels[:, 0], 0.0, width - 1.0)
    y = np.clip(pixels[:, 1], 0.0, height - 1.0)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _unoccluded(points: np.ndarray, centre: np.ndarray, offset: float, scene) -> np.ndarray:
    """(N,) bool: the segment from each of the (N, 3) points (moved `offset` towards the camera) to `centre`
    hits no face of the Open3D RaycastingScene `scene`."""
    import open3d as o3d

    towards = centre[None] - points
    distance = np.linalg.norm(towards, axis=1)
    direction = towards / np.maximum(distance, 1e-12)[:, None]
    rays = np.concatenate([points + offset * direction, direction], axis=1).astype(np.float32)
    hit = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
    return hit >= distance - offset


def color_mesh(
    mesh: Mesh,
    cameras: Sequence[Camera],
    images: Sequence[np.ndarray],
    allowed: Sequence[np.ndarray] | None = None,
) -> tuple[Mesh, np.ndarray]:
    """The mesh with `colors` from the views (module docstring) and (N,) int the number of views used per vertex.

    Args:
        mesh: world metres, faces counter-clockwise from outside (so normals point out), F >= 1.
        cameras: V cameras.
        images: V (H_v, W_v, 3) RGB images, uint8 (0-255) or float in [0, 1], the cameras' sizes.
        allowed: V (H_v, W_v) bool masks of the pixels that may colour this mesh (None: all pixels).
    """
    if mesh.num_faces == 0:
        raise ColorError(f"argument 'mesh': expected at least one face, got {mesh!r}")
    if len(images) != len(cameras) or (allowed is not None and len(allowed) != len(cameras)):
        raise ColorError(
            f"arguments 'images'/'allowed': expected {len(cameras)} views (one per camera), got {len(images)} images"
            f" and {None if allowed is None else len(allowed)} masks"
        )  # fmt: skip
    normals = mesh.vertex_normals()
    edges = mesh.vertices[mesh.faces[:, 1]] - mesh.vertices[mesh.faces[:, 0]]
    offset = 0.5 * float(np.linalg.norm(edges, axis=1).mean())  # off the surface, below the mesh's detail
    scene = raycasting_scene(mesh.vertices, mesh.faces)
    total = np.zeros((mesh.num_vertices, 3))
    weights = np.zeros(mesh.num_vertices)
    views = np.zeros(mesh.num_vertices, np.int64)
    for index, (camera, image) in enumerate(zip(cameras, images)):
        image = np.asarray(image)
        if image.shape[:2] != (camera.height, camera.width) or image.ndim != 3:
            raise ColorError(
                f"argument 'images', camera {camera.name!r}: expected shape ({camera.height}, {camera.width}, 3), "
                f"got {image.shape}"
            )  # fmt: skip
        image = image.astype(np.float64) / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)
        direction = camera.center[None] - mesh.vertices
        direction /= np.maximum(np.linalg.norm(direction, axis=1), 1e-12)[:, None]
        cosine = (normals * direction).sum(axis=1)
        in_front = camera.world_to_camera(mesh.vertices)[:, 2] > 1e-6
        pixels = camera.project(mesh.vertices)
        inside = in_front & (pixels[:, 0] >= 0) & (pixels[:, 0] <= camera.width - 1)
        inside &= (pixels[:, 1] >= 0) & (pixels[:, 1] <= camera.height - 1)
        use = inside & (cosine >= MIN_COSINE)
        if allowed is not None:
            rows = np.clip(np.rint(pixels[:, 1]), 0, camera.height - 1).astype(int)
            columns = np.clip(np.rint(pixels[:, 0]), 0, camera.width - 1).astype(int)
            use &= np.asarray(allowed[index], bool)[rows, columns]
        candidates = np.nonzero(use)[0]
        if len(candidates) == 0:
            continue
        visible = _unoccluded(mesh.vertices[candidates], camera.center, offset, scene)
        chosen = candidates[visible]
        total[chosen] += cosine[chosen, None] * _bilinear(image, pixels[chosen])
        weights[chosen] += cosine[chosen]
        views[chosen] += 1
    seen = weights > 0
    colors = np.empty((mesh.num_vertices, 3))
    colors[seen] = total[seen] / weights[seen, None]
    if not seen.any():
        colors[:] = UNSEEN_COLOR
    elif not seen.all():
        from scipy.spatial import cKDTree

        _, nearest = cKDTree(mesh.vertices[seen]).query(mesh.vertices[~seen])
        colors[~seen] = colors[seen][nearest]
    return Mesh(mesh.vertices, mesh.faces, colors=np.clip(colors, 0.0, 1.0)), views
