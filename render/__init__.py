"""One Taichi rasterizer for every package: depth, masks, instance and triangle ids, barycentrics,
camera-space normals, lit RGB and any per-vertex attribute (e.g. the body "global normal map"), for many
calibrated, distorted views at once.

    from render import Mesh, render, global_normal_colors
    out = render([Mesh(vertices, faces, colors=colors)], cameras)   # out.depth: (V, H, W) metres

Taichi starts lazily on the first render (arch from `init_taichi(arch)` or $MULTICAP_TAICHI_ARCH, default cpu).
`render.primitives` makes test meshes (icosphere, box, capsule) and simple look-at / ring cameras.
"""

from render.backend import BackendError, init_taichi
from render.mesh import Mesh, MeshError, face_normals, global_normal_colors, vertex_normals
from render.renderer import RenderError, RenderOutput, RenderSettings, normal_to_rgb, render

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
    "normal_to_rgb",
    "render",
    "vertex_normals",
]
