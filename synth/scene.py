"""Synthetic scenes: clothed people moving (``synth.motion``), occluding objects, and a camera rig.

    scene = make_scene(body, "close", num_people=2, num_frames=1, seed=0)
    people, objects = scene.frame_meshes(0)       # [(person id, Mesh)], [Mesh]

Categories: the motion categories (``synth.motion.CATEGORIES``) and ``occluded_single``: one person
among 1-3 boxes and chairs made of boxes (0.4-1.2 m tall, between the person and some cameras, at least
``OBJECT_GAP`` from the person in every frame).

Rig: ``ring_rig`` of ``num_views`` cameras (radius ``RING_RADIUS``, 50 degree field of view, jitter
``RING_JITTER``, seeded by the scene seed), or any rig passed in (e.g. from a user's rig.yaml).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from body.model import BodyModel, BodyOutput
from calibration.rig import Rig
from calibration.ring_rig import ring_rig
from render import primitives
from render.mesh import Mesh
from synth.clothing import CLOTH_COLOURS, random_outfit
from synth.motion import CATEGORIES as MOTION_CATEGORIES
from synth.motion import PeopleMotion, make_motion
from synth.person import DEFAULT_VOXEL, ClothedPerson, build_person

logger = logging.getLogger(__name__)

SCENE_CATEGORIES = MOTION_CATEGORIES + ("occluded_single",)
RING_RADIUS = 3.6
RING_HEIGHT = 1.5
RING_FOV_DEG = 50.0
RING_JITTER = 0.3
OBJECT_GAP = 0.05
"""Smallest distance (metres) between an object and a person's body in any frame."""


class SceneError(ValueError):
    """Bad arguments to `make_scene`; the message names the argument, expected vs received."""


@dataclass(frozen=True)
class SceneObject:
    """A static prop: `kind` ('box' or 'chair'), its mesh (world, metres), centre (3,) and yaw (radians)."""

    kind: str
    mesh: Mesh
    center: tuple[float, float, float]
    yaw: float


@dataclass(frozen=True, eq=False)
class Scene:
    """Everything needed to render a synthetic capture and write its ground truth."""

    category: str
    seed: int
    body: BodyModel
    motion: PeopleMotion
    people: tuple[ClothedPerson, ...]
    objects: tuple[SceneObject, ...]
    rig: Rig

    def body_output(self) -> BodyOutput:
        """The posed bodies (P, T) of the motion."""
        with torch.no_grad():
            return self.body(self.motion.params)

    def frame_meshes(self, frame: int, output: BodyOutput | None = None) -> tuple[list[tuple[int, Mesh]], list[Mesh]]:
        """Meshes of frame `frame`: (person id, clothed mesh) for the people present, and the objects'."""
        output = self.body_output() if output is None else output
        people = []
        for p, person in enumerate(self.people):
            if self.motion.present[p, frame]:
                people.append((self.motion.person_ids[p], person.mesh(output.joint_transforms[p, frame])))
        return people, [obj.mesh for obj in self.objects]


def _rotated_box(extents, center, yaw: float, color) -> Mesh:
    box = primitives.box(extents, (0.0, 0.0, 0.0), color)
    c, s = np.cos(yaw), np.sin(yaw)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return Mesh(box.vertices @ rotation.T + np.asarray(center), box.faces, colors=box.colors)


def _merge(meshes: list[Mesh]) -> Mesh:
    offsets = np.cumsum([0] + [m.num_vertices for m in meshes])[:-1]
    return Mesh(np.concatenate([m.vertices for m in meshes]), np.concatenate([m.faces + o for m, o in zip(meshes, offsets)]),
                colors=np.concatenate([m.vertex_colors() for m in meshes]))  # fmt: skip


def make_prop(kind: str, center_xy, yaw: float, rng: np.random.Generator) -> SceneObject:
    """A box (0.4-1.2 m tall) or a chair (seat, four legs and a back made of boxes) standing on the floor."""
    color = tuple(float(c) for c in CLOTH_COLOURS[rng.integers(len(CLOTH_COLOURS))] * rng.uniform(0.6, 0.9))
    x, y = center_xy
    if kind == "box":
        extents = (rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.6), rng.uniform(0.4, 1.2))
        mesh = _rotated_box(extents, (x, y, extents[2] / 2), yaw, color)
        return SceneObject("box", mesh, (x, y, extents[2] / 2), yaw)
    seat, height, leg = rng.uniform(0.4, 0.5), rng.uniform(0.42, 0.48), 0.04
    c, s = np.cos(yaw), np.sin(yaw)
    local = lambda u, v: (x + c * u - s * v, y + s * u + c * v)  # noqa: E731
    parts = [_rotated_box((seat, seat, 0.04), (*local(0, 0), height), yaw, color)]
    for u in (-1, 1):
        for v in (-1, 1):
            parts.append(_rotated_box((leg, leg, height), (*local(u * (seat - leg) / 2, v * (seat - leg) / 2), height / 2), yaw, color))
    parts.append(_rotated_box((seat, 0.04, 0.45), (*local(0, (seat - 0.04) / 2), height + 0.245), yaw, color))
    return SceneObject("chair", _merge(parts), (x, y, height / 2), yaw)


def _place_props(rig: Rig, vertices: np.ndarray, present: np.ndarray, rng: np.random.Generator) -> list[SceneObject]:
    """1-3 props between the person and randomly chosen cameras, clear of the person in every frame."""
    from scipy.spatial import cKDTree

    points = vertices[0][present[0]].reshape(-1, 3)[::4]
    tree = cKDTree(points)
    centre = points[:, :2].mean(0)
    props: list[SceneObject] = []
    cameras = rng.permutation(len(rig))[: rng.integers(1, 4)]
    for index in cameras:
        towards = rig.cameras[index].center[:2] - centre
        towards /= np.linalg.norm(towards)
        for _ in range(30):
            distance = rng.uniform(0.6, 1.1)
            kind = "chair" if rng.random() < 0.4 else "box"
            prop = make_prop(kind, centre + distance * towards + rng.normal(0, 0.1, 2), rng.uniform(-np.pi, np.pi), rng)
            clear = tree.query(prop.mesh.vertices)[0].min() > OBJECT_GAP
            lo, hi = prop.mesh.vertices.min(0) - OBJECT_GAP, prop.mesh.vertices.max(0) + OBJECT_GAP
            inside = np.all((points >= lo) & (points <= hi), -1)  # the person within the prop's box
            if clear and not inside.any():
                props.append(prop)
                break
    return props


def make_scene(
    body: BodyModel,
    category: str,
    num_people: int,
    num_frames: int = 1,
    seed: int = 0,
    rig: Rig | None = None,
    num_views: int = 6,
    image_size: int = 512,
    fps: float = 30.0,
    voxel_size: float = DEFAULT_VOXEL,
) -> Scene:
    """A random scene of `category` (SCENE_CATEGORIES); deterministic for `seed`.

    Args:
        rig: cameras to use; default a jittered ring of `num_views` cameras of `image_size` pixels square.
        voxel_size: build grid of the clothed meshes, metres.
    """
    if category not in SCENE_CATEGORIES:
        raise SceneError(f"make_scene: argument 'category': expected one of {SCENE_CATEGORIES}, got {category!r}")
    if rig is None and not 1 <= num_views <= 64:
        raise SceneError(f"make_scene: argument 'num_views': expected 1-64, got {num_views}")
    rng = np.random.default_rng([seed, 1])
    motion_category = "single" if category == "occluded_single" else category
    motion = make_motion(body, motion_category, num_people, num_frames, fps=fps, seed=seed)
    if rig is None:
        rig = ring_rig(num_views, radius=RING_RADIUS, height=RING_HEIGHT, image_size=(image_size, image_size),
                       fov_deg=RING_FOV_DEG, jitter=RING_JITTER, seed=seed)  # fmt: skip
    shapes = motion.params.shape[:, 0].double().cpu().numpy()
    people = tuple(build_person(body, shapes[p], random_outfit(rng), voxel_size) for p in range(num_people))
    objects: tuple[SceneObject, ...] = ()
    if category == "occluded_single":
        with torch.no_grad():
            vertices = body(motion.params).vertices.double().cpu().numpy()
        objects = tuple(_place_props(rig, vertices, motion.present, rng))
    return Scene(category, seed, body, motion, people, objects, rig)
