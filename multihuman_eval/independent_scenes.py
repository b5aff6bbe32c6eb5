"""An independent held-out benchmark: scenes made without `synth` (its people, garments, renderer and rig).

Per scene: Anny people (random shape, a pose composed from the relaxed standing pose with random joint turns)
dressed by `independent_garments` (lofted tubes), placed by category, props (boxes, pillars) between a person
and some cameras in the occluded category, 6 cameras of 512 x 512 at irregular azimuths, heights (0.6-2.5 m)
and distances, a tiled floor, and images drawn by Open3D's OffscreenRenderer (unlit shader, lighting baked per
view into the vertex colours: hemisphere ambient, two or three coloured directional lights, a specular term),
composited over a painted backdrop (gradient, fractal noise, soft panels), with sensor noise.

Categories (the benchmark's names): `single` (one person), `two_close` (two people touching), `occluded_single`
(one person, props hiding part of them in some views), `three` (three people).

Written with `write_bench_scene` / `write_manifest`, so `capture eval` and `load_scene` read it unchanged:
masks label people 1 + id and props 255 (a person's pixels hidden by a prop are 255: unobserved, not person),
gt/meshes/ the clothed meshes, gt/body_params.json the Anny parameters (batch (P, 1)), and per view
gt/prop_hidden/<cam>/000000.png: 1 + id where that person is hidden by a prop (0 elsewhere).

    write_independent_set(OUT, scenes_per_category=2, seed=0)      # OUT/manifest.json, OUT/<category>/<k>/
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from calibration.camera import Camera
from multihuman_eval.independent_garments import (dress_body, fractal_noise, hsv, merge_meshes, random_outfit,
                                                  vertex_parts)
from multihuman_eval.independent_render import backdrop, make_floor, render_views
from render.mesh import Mesh

logger = logging.getLogger(__name__)

CATEGORY_PEOPLE = {"single": 1, "two_close": 2, "occluded_single": 1, "three": 3}
SOURCE = "multihuman_eval.independent_scenes"


@dataclass(frozen=True)
class SceneConfig:
    """Size of a scene's views and what draws them ('open3d', falling back to 'project' when it stalls)."""

    views: int = 6
    image_size: int = 512
    floor_tile_m: float = 0.45
    rasterizer: str = "open3d"


@dataclass
class Person:
    """A dressed person: Anny parameters (batch ()), the posed body and the clothed mesh, world metres."""

    params: object
    body: Mesh
    clothed: Mesh

    def moved(self, offset: np.ndarray) -> "Person":
        offset = np.asarray(offset, float)
        params = self.params.map(lambda t: t.clone())
        params.transl = params.transl + torch.as_tensor(offset, dtype=params.transl.dtype)
        return Person(params, Mesh(self.body.vertices + offset, self.body.faces),
                      Mesh(self.clothed.vertices + offset, self.clothed.faces, colors=self.clothed.colors))  # fmt: skip


# --- people -------------------------------------------------------------------------------------------------------


def _turn(pose: np.ndarray, index: int, rotvec) -> None:
    """Pre-multiply joint `index`'s rotation by `rotvec` (parent's canonical axes: x left, y back, z up)."""
    from scipy.spatial.transform import Rotation

    pose[index] = (Rotation.from_rotvec(rotvec) * Rotation.from_rotvec(pose[index])).as_rotvec()


def random_pose(body, rng: np.random.Generator) -> np.ndarray:
    """(J, 3) pose: the relaxed standing pose (body.priors.natural_pose) with random arm raises, elbow and knee
    bends, a step, a twist of the spine and a turn of the head."""
    from body.priors import natural_pose

    pose = natural_pose(body).double().numpy()
    j = {name: i for i, name in enumerate(body.pose_joint_names)}
    deg = np.radians
    for side, sign in (("left", -1.0), ("right", 1.0)):
        _turn(pose, j[f"{side}_shoulder"], [-deg(rng.uniform(-15, 60)), sign * deg(rng.uniform(0, 55)), 0.0])
        pose[j[f"{side}_elbow"]] *= rng.uniform(0.6, 3.5)
        _turn(pose, j[f"{side}_wrist"], deg(rng.uniform(-15, 15, 3)))
    step = rng.choice([-1.0, 1.0])
    for side, sign in (("left", step), ("right", -step)):
        flex = rng.uniform(0, 22) * sign
        _turn(pose, j[f"{side}_hip"], [-deg(flex), 0.0, deg(rng.uniform(-8, 8))])
        _turn(pose, j[f"{side}_knee"], [deg(rng.uniform(0, 25) + max(flex, 0)), 0.0, 0.0])
    twist = rng.uniform(-25, 25) / 3
    for spine in ("spine1", "spine2", "spine3"):
        _turn(pose, j[spine], [deg(rng.uniform(-4, 6)), 0.0, deg(twist)])
    _turn(pose, j["head"], [deg(rng.uniform(-10, 15)), deg(rng.uniform(-8, 8)), deg(rng.uniform(-30, 30))])
    return pose


def random_shape(body, rng: np.random.Generator) -> np.ndarray:
    """(S,) Anny phenotype: adults of any gender, build and height."""
    ranges = {"gender": (0.0, 1.0), "age": (0.45, 0.8), "muscle": (0.2, 0.8), "weight": (0.2, 0.8),
              "height": (0.15, 0.85), "proportions": (0.3, 0.7)}  # fmt: skip
    return np.array([rng.uniform(*ranges.get(name, (0.45, 0.55))) for name in body.shape_names])


def make_person(body, rng: np.random.Generator, yaw: float) -> Person:
    """A random person facing `yaw` (radians about z; 0 = facing -y), dressed, standing on z = 0 at x = y = 0."""
    from body import BodyParams

    dtype = body.dtype
    params = BodyParams(
        shape=torch.tensor(random_shape(body, rng), dtype=dtype),
        pose_aa=torch.tensor(random_pose(body, rng), dtype=dtype),
        global_rot_aa=torch.tensor([0.0, 0.0, yaw], dtype=dtype),
        transl=torch.zeros(3, dtype=dtype),
    )
    with torch.no_grad():
        output = body(params)
    vertices = output.vertices.double().numpy()
    keypoints = {n: output.keypoints[i].double().numpy() for i, n in enumerate(output.keypoint_names)}
    parts = vertex_parts(body.skinning_weights.double().numpy(), body.joint_names)
    back = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    clothed = dress_body(vertices, output.faces.numpy(), parts, keypoints, back, random_outfit(rng), rng)
    root = keypoints["mid_hip"]
    person = Person(params, Mesh(vertices, output.faces.numpy()), clothed)
    return person.moved(np.array([-root[0], -root[1], -clothed.vertices[:, 2].min()]))


def surface_gap(a: Mesh, b: Mesh) -> float:
    """Smallest distance between the vertices of two meshes (metres)."""
    from scipy.spatial import cKDTree

    return float(cKDTree(a.vertices).query(b.vertices)[0].min())


def place_at_gap(anchor: list[Person], mover: Person, direction: np.ndarray, gap_m: float) -> Person:
    """`mover` shifted along the horizontal unit `direction` (from the anchors' centre) until its smallest gap to
    the `anchor` people is `gap_m` (bisection, 1 mm)."""
    merged = merge_meshes([p.clothed for p in anchor]) if len(anchor) > 1 else anchor[0].clothed
    centre = merged.vertices[:, :2].mean(0)
    low, high = 0.0, 3.0
    for _ in range(24):
        mid = 0.5 * (low + high)
        offset = np.array([*(centre + mid * direction[:2]), 0.0])
        moved = Mesh(mover.clothed.vertices + offset, mover.clothed.faces)
        if surface_gap(merged, moved) < gap_m:
            low = mid
        else:
            high = mid
        if high - low < 1e-3:
            break
    return mover.moved(np.array([*(centre + high * direction[:2]), 0.0]))


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle), 0.0])


def make_people(body, category: str, rng: np.random.Generator) -> list[Person]:
    """The people of a scene of `category` (CATEGORY_PEOPLE): touching (gap 3-8 mm) for two_close, 8-45 cm
    apart for three."""
    first = make_person(body, rng, rng.uniform(-np.pi, np.pi))
    people = [first]
    if category == "two_close":
        angle = rng.uniform(-np.pi, np.pi)
        facing = angle + np.pi / 2 + rng.choice([0.0, np.pi / 2, np.pi, -np.pi / 2]) + rng.uniform(-0.4, 0.4)
        people.append(place_at_gap(people, make_person(body, rng, facing), _unit(angle), rng.uniform(0.003, 0.008)))
    elif category == "three":
        for _ in range(2):
            angle = rng.uniform(-np.pi, np.pi)
            person = make_person(body, rng, rng.uniform(-np.pi, np.pi))
            people.append(place_at_gap(people, person, _unit(angle), rng.uniform(0.08, 0.45)))
    centre = np.concatenate([p.clothed.vertices for p in people])[:, :2].mean(0)
    return [p.moved(np.array([-centre[0], -centre[1], 0.0])) for p in people]


# --- cameras and props ----------------------------------------------------------------------------------------------


def make_cameras(rng: np.random.Generator, points: np.ndarray, config: SceneConfig) -> list[Camera]:
    """`config.views` cameras around `points` (N, 3): azimuth steps of 35-85 degrees (normalised to a full turn),
    heights 0.6-2.5 m, distances 2.4-4 m (more for wide scenes), each framing the bounding sphere of the points
    (plus 15 cm) around a slightly jittered target."""
    from render.primitives import look_at_camera

    centre = np.array([*points[:, :2].mean(0), 0.5 * points[:, 2].max()])
    radius = float(np.linalg.norm(points - centre, axis=1).max()) + 0.15
    steps = rng.uniform(35, 85, config.views)
    azimuths = np.radians(rng.uniform(0, 360) + np.cumsum(steps) * 360.0 / steps.sum())
    cameras = []
    for k, azimuth in enumerate(azimuths):
        distance = rng.uniform(2.4, 4.0) * max(1.0, radius / 1.0)
        height = rng.uniform(0.6, 2.5)
        position = centre + np.array([distance * np.cos(azimuth), distance * np.sin(azimuth), 0.0])
        position[2] = height
        target = centre + rng.uniform(-0.08, 0.08, 3)
        reach = np.linalg.norm(position - target)
        focal = config.image_size / 2.0 / np.tan(np.arcsin(min(0.95, radius / reach)) * 1.08)
        cameras.append(look_at_camera(f"cam{k:02d}", position, target, config.image_size, focal_px=focal))
    return cameras


def _subdivided(mesh, colour_fn) -> Mesh:
    """A trimesh solid subdivided to 5 cm edges, coloured by `colour_fn(points) -> (N, 3)`."""
    import trimesh

    vertices, faces = trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, max_edge=0.05)
    return Mesh(vertices, faces.astype(np.int64), colors=colour_fn(vertices))


def make_prop(kind: str, position: np.ndarray, rng: np.random.Generator) -> Mesh:
    """A 'box' (crate 0.45-0.8 m wide, 0.7-1.25 m tall, checked) or 'pillar' (radius 0.1-0.2 m, 2.6 m,
    striped) standing on the floor at `position` (x, y)."""
    import trimesh

    hue = rng.random()
    a, b = np.array(hsv(hue, 0.5, 0.75)), np.array(hsv((hue + 0.5) % 1, 0.4, 0.35))
    if kind == "box":
        size = np.array([rng.uniform(0.45, 0.8), rng.uniform(0.35, 0.6), rng.uniform(0.7, 1.25)])
        solid = trimesh.creation.box(size)
        solid.apply_transform(trimesh.transformations.rotation_matrix(rng.uniform(0, np.pi), [0, 0, 1]))
        period = rng.uniform(0.1, 0.2)

        def colours(p):
            mix = (np.floor(p / period).sum(1) % 2)[:, None]
            return np.clip((1 - mix) * a + mix * b, 0, 1) * (0.85 + 0.15 * fractal_noise(p, rng, 0.05, 2))[:, None]
    else:
        size = np.array([0.0, 0.0, 2.6])
        solid = trimesh.creation.cylinder(radius=rng.uniform(0.1, 0.2), height=size[2], sections=40)
        period = rng.uniform(0.15, 0.35)

        def colours(p):
            mix = (np.floor(p[:, 2] / period) % 2)[:, None]
            return np.clip((1 - mix) * a + mix * b, 0, 1) * (0.8 + 0.2 * fractal_noise(p, rng, 0.08, 3))[:, None]

    solid.apply_translation([position[0], position[1], size[2] / 2])
    return _subdivided(solid, colours)


def place_props(people: list[Person], cameras: Sequence[Camera], rng: np.random.Generator, count: int = 2) -> list[Mesh]:
    """`count` props, each on the floor between the (first) person and another camera, 0.5-1 m from the
    person and at least 8 cm clear of everyone."""
    target = people[0].clothed.vertices
    centre = target[:, :2].mean(0)
    props = []
    chosen = rng.choice(len(cameras), size=count, replace=False)
    everyone = merge_meshes([p.clothed for p in people])
    for index, k in enumerate(chosen):
        towards = cameras[k].center[:2] - centre
        towards /= np.linalg.norm(towards)
        side = np.array([-towards[1], towards[0]]) * rng.uniform(-0.12, 0.12)
        kind = "box" if index % 2 == 0 else "pillar"
        distance = rng.uniform(0.5, 1.0)
        while True:
            prop = make_prop(kind, centre + distance * towards + side, np.random.default_rng(rng.integers(1 << 31)))
            if surface_gap(everyone, prop) >= 0.08 or distance > 2.0:
                break
            distance += 0.1
        props.append(prop)
    return props


# --- writing ------------------------------------------------------------------------------------------------------


def write_scene(out: Path, category: str, seed: int, config: SceneConfig = SceneConfig()) -> Path:
    """Make and write one scene of `category` (benchmark layout, module docstring); returns its rig.yaml."""
    import cv2

    from body import BodyParams, shared_body
    from calibration.atomic import write_png
    from multihuman_eval.benchmark import OBJECT_LABEL, write_bench_scene
    from render import render

    rng = np.random.default_rng(seed)
    body = shared_body("anny")
    people = make_people(body, category, rng)
    points = np.concatenate([p.clothed.vertices for p in people])
    cameras = make_cameras(rng, points, config)
    props = place_props(people, cameras, rng) if category == "occluded_single" else []
    ids = list(range(len(people)))
    description = {"source": SOURCE, "seed": seed, "body_model": body.name, "props": len(props)}
    rig = write_bench_scene(out, cameras, {i: people[i].clothed for i in ids}, category,
                            {i: people[i].body for i in ids}, props, description)  # fmt: skip
    backdrops = [backdrop(config.image_size, rng) for _ in cameras]
    floor = make_floor(config.floor_tile_m, rng)
    images, rasterizer = render_views([p.clothed for p in people] + props, floor, cameras, int(rng.integers(1 << 31)),
                                      backdrops, config.rasterizer)  # fmt: skip
    hidden_counts = {}
    alone = render([p.clothed for p in people], list(cameras)).instance_id if props else None
    for v, camera in enumerate(cameras):
        write_png(out / "images" / camera.name / "000000.png", images[v][..., ::-1])
        labels = cv2.imread(str(out / "masks" / camera.name / "000000.png"), cv2.IMREAD_UNCHANGED)
        hidden = np.zeros_like(labels)
        if alone is not None:
            by_prop = (labels == OBJECT_LABEL) & (alone[v] >= 0)
            hidden[by_prop] = alone[v][by_prop] + 1
        write_png(out / "gt" / "prop_hidden" / camera.name / "000000.png", hidden)
        hidden_counts[camera.name] = {str(i): int((hidden == i + 1).sum()) for i in ids}
    fields = ("shape", "pose_aa", "global_rot_aa", "transl")
    stacked = BodyParams(*(torch.stack([getattr(p.params, f) for p in people])[:, None] for f in fields))
    body.save_params(out / "gt" / "body_params.json", stacked)
    scene_file = out / "gt" / "scene.json"
    scene = json.loads(scene_file.read_text())
    scene["prop_hidden_pixels"], scene["rasterizer"] = hidden_counts, rasterizer
    scene_file.write_text(json.dumps(scene, indent=1))
    return rig


def write_independent_set(out: str | Path, scenes_per_category: int = 2, seed: int = 0,
                          categories: Sequence[str] = tuple(CATEGORY_PEOPLE), config: SceneConfig = SceneConfig(),
                          force: bool = False) -> Path:  # fmt: skip
    """Write the set: OUT/<category>/<k:03d>/ for each category and k, and OUT/manifest.json. Scene k of
    category c uses seed `seed + 1000 * index(c) + k`. Scenes already written are kept unless `force`."""
    from multihuman_eval.benchmark import write_manifest

    out = Path(out)
    listed = []
    for c, category in enumerate(categories):
        if category not in CATEGORY_PEOPLE:
            raise ValueError(f"category {category!r}: expected one of {list(CATEGORY_PEOPLE)}")
        for k in range(scenes_per_category):
            folder = f"{category}/{k:03d}"
            listed.append((category, folder))
            if (out / folder / "gt" / "body_params.json").is_file() and not force:
                continue
            write_scene(out / folder, category, seed + 1000 * c + k, config)
            logger.info("independent set: wrote %s", out / folder)
    return write_manifest(out, listed, f"{SOURCE} seed {seed}")
