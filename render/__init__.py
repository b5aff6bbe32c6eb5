"""One Taichi rasterizer for every package: depth, masks, instance and triangle ids, barycentrics,
camera-space normals, lit RGB and any per-vertex attribute (e.g. the body "global normal map"), for many
calibrated, distorted views at once.

    from render import Mesh, render, global_normal_colors
    out = render([Mesh(vertices, faces, colors=colors)], cameras)   # out.depth: (V, H, W) metres

Taichi starts lazily on the first render (arch from `init_taichi(arch)` or $MULTICAP_TAICHI_ARCH, default cpu).
`load_mesh(path)` / `save_mesh(path, mesh)` read PLY/OBJ and write binary PLY (trimesh, imported lazily).
`render.primitives` makes test meshes (icosphere, box, capsule) and simple look-at / ring cameras.
"""

from render.backend import BackendError, init_taichi
from render.mesh import (
    Mesh,
    MeshError,
    face_normals,
    global_normal_colors,
    load_mesh,
    save_mesh,
    vertex_normals,
)
from render.renderer import RenderError, RenderOutput, RenderSettings, normal_to_rgb, render, render_views

__all__ = [
    "BackendError",
    "Mesh",
    "MeshError",
    "RenderError",
    "RenderOutput",
    "RenderSettings",
    "face_normals",
    "global_normal_colors",
    "init_taichi",
    "load_mesh",
    "normal_to_rgb",
    "render",
    "render_views",
    "save_mesh",
    "vertex_normals",
]
