"""Small stand-in scenes for the network's tests and benchmarks: capsule "people" seen by a ring of cameras.

Each person is a watertight capsule (the ground truth); its "fitted body" is a thinner capsule at the same place
(a coarse body proxy). Renders come from `render.render`, so images, label maps, depth and normals are exact.
"""

from __future__ import annotations

import numpy as np

from body.surface import BodySurface
from implicit.dataset import TrainingSample, render_training_sample
from calibration.ring_rig import ring_rig
from render import Mesh, primitives, render

PEOPLE = (  # (centre x, centre y, radius, height, colour)
    (0.0, 0.0, 0.22, 1.7, (0.8, 0.3, 0.2)),
    (0.55, 0.35, 0.2, 1.6, (0.2, 0.4, 0.8)),
    (-0.5, 0.45, 0.18, 1.5, (0.3, 0.7, 0.3)),
)


def capsule_body(mesh_radius: float, height: float, center: tuple[float, float, float], sections: int = 24) -> BodySurface:
    """A thin capsule body proxy (80 % of `mesh_radius`) standing at `center`, facing -y (identity rotation)."""
    body = primitives.capsule(radius=0.8 * mesh_radius, height=height * 0.97, center=center, sections=sections)
    return BodySurface(
        vertices=body.vertices,
        rest_vertices=body.vertices - np.asarray(center),
        faces=body.faces,
        global_rotation=np.eye(3),
    )


def capsule_scene(people: int = 2, views: int = 4, size: int = 128, sections: int = 32) -> list[TrainingSample]:
    """One TrainingSample per person of a scene of `people` capsules (<= 3) seen by `views` ring cameras."""
    if not 1 <= people <= len(PEOPLE):
        raise ValueError(f"capsule_scene: argument 'people' expected 1..{len(PEOPLE)}, got {people}")
    cameras = list(ring_rig(views, radius=3.5, height=1.4, target=(0.0, 0.1, 0.85), image_size=(size, size), fov_deg=50.0).cameras)
    meshes: dict[int, Mesh] = {}
    bodies: dict[int, BodySurface] = {}
    for pid, (x, y, radius, height, color) in enumerate(PEOPLE[:people]):
        center = (x, y, height / 2)
        meshes[pid] = primitives.capsule(radius=radius, height=height, center=center, sections=sections, color=color)
        bodies[pid] = capsule_body(radius, height, center)
    scene = render(list(meshes.values()), cameras)
    labels = np.where(scene.mask, scene.instance_id + 1, 0).astype(np.int32)
    return [render_training_sample(cameras, scene.rgb, labels, pid, meshes, bodies[pid]) for pid in meshes]
