"""Benchmark scenes: discovery, loading, and the bench-scene folder layout (protocol: docs/evaluation.md).

A benchmark is a folder of capture folders in the synthetic layout (docs/synth.md) plus `manifest.json`:

    BENCH/manifest.json                        {"scenes": [{"category", "path", ...}, ...]}
    BENCH/<category>/<k:03d>/rig.yaml          cameras (and the capture: section)
    .../images/<cam>/<frame:06d>.png           RGB input views
    .../masks/<cam>/<frame:06d>.png            uint8 labels: 0 background, 1 + person id, 255 objects
    .../gt/meshes/<frame:06d>/person_<id>.ply  ground-truth person meshes, world metres
    .../gt/body_params.json                    ground-truth body parameters (synthetic scenes), or
    .../gt/body_meshes/<frame:06d>/person_<id>.ply  body meshes only (MultiHuman SMPL-X fits, test scenes)

`capture synth-bench` writes such a benchmark; `prepare_multihuman` (below) renders one
from the MultiHuman release; `write_bench_scene` writes one scene from meshes (used by both and by tests).

    scenes = discover_scenes(BENCH)              # [BenchScene("two_close/001", ...), ...]
    data = load_scene(scenes[0])                 # SceneData: cameras, images, labels, GT meshes, bodies
    data.person_mask(pid), data.unobserved(pid)  # (V, H, W) bool
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from calibration.camera import Camera
from calibration.run_layout import RunLayout
from render.mesh import Mesh

logger = logging.getLogger(__name__)

CATEGORIES = ("single", "occluded_single", "two_natural", "two_close", "three")
"""The MultiHuman categories in the paper's Table 1 order."""
OBJECT_LABEL = 255
"""Mask label of objects (props, occluders); anything but 0 and this person's label is 'unobserved' for a person."""
MANIFEST = "manifest.json"


class BenchmarkError(ValueError):
    """A benchmark folder or scene that cannot be used; the message names the file and says expected vs found."""


@dataclass(frozen=True)
class BenchScene:
    """One frame of one capture folder of a benchmark.

    Attributes:
        name: "<category>/<folder>" (plus "@<frame>" when the folder has several frames), unique in a benchmark.
        category: MultiHuman category (CATEGORIES) or any other name the manifest gives.
        path: the capture folder.
        frame: frame number.
    """

    name: str
    category: str
    path: Path
    frame: int = 0


@dataclass(frozen=True)
class BodyInfo:
    """A person's body as the methods need it: the mesh (body-only, grids) and, when parameters exist, the
    network's `implicit.BodySurface` (posed and rest vertices, global rotation)."""

    mesh: Mesh
    surface: object | None = None


@dataclass(frozen=True, eq=False)
class SceneData:
    """Everything the methods and the metrics read of one scene, numpy, world metres.

    Attributes:
        scene: which scene.
        cameras: V cameras (one image size).
        images: (V, H, W, 3) float32 RGB in [0, 1].
        labels: (V, H, W) int32 label maps: 0 background, 1 + person id, OBJECT_LABEL objects.
        gt_meshes: {person id: ground-truth Mesh}.
        bodies: {person id: BodyInfo}; `body_source` says where they came from ("gt params", "gt meshes",
            "fitted <path>").
    """

    scene: BenchScene
    cameras: list[Camera]
    images: np.ndarray
    labels: np.ndarray
    gt_meshes: dict[int, Mesh]
    bodies: dict[int, BodyInfo] = field(default_factory=dict)
    body_source: str = ""

    @property
    def person_ids(self) -> list[int]:
        return sorted(self.gt_meshes)

    def person_mask(self, person_id: int) -> np.ndarray:
        """(V, H, W) bool: pixels of this person."""
        return self.labels == person_id + 1

    def unobserved(self, person_id: int) -> np.ndarray:
        """(V, H, W) bool: pixels of other people and objects: this person is unknown there, not absent."""
        return (self.labels != 0) & (self.labels != person_id + 1)

    def body(self, person_id: int) -> BodyInfo:
        if person_id not in self.bodies:
            raise BenchmarkError(
                f"scene {self.scene.name}: no body for person {person_id} (bodies from {self.body_source or 'nowhere'}:"
                f" {sorted(self.bodies)}); synthetic scenes need gt/body_params.json, others gt/body_meshes/"
            )
        return self.bodies[person_id]


def _frames(capture: Path) -> list[int]:
    folder = capture / "gt" / "meshes"
    if not folder.is_dir():
        raise BenchmarkError(f"{capture}: expected ground-truth meshes in {folder}, found no such folder")
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def discover_scenes(bench: str | Path, categories: Sequence[str] | None = None) -> list[BenchScene]:
    """The scenes of a benchmark folder: from its manifest.json, else every folder below it with a rig.yaml.

    Args:
        bench: the benchmark folder.
        categories: keep only these categories (None = all).

    Scenes come in CATEGORIES order (other categories after, by name), then by path.
    """
    bench = Path(bench)
    if not bench.is_dir():
        raise BenchmarkError(f"benchmark {bench}: expected a folder, found none")
    manifest = bench / MANIFEST
    if manifest.is_file():
        try:
            entries = json.loads(manifest.read_text())["scenes"]
            folders = [(str(e["category"]), bench / e["path"]) for e in entries]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise BenchmarkError(f"{manifest}: expected {{'scenes': [{{'category', 'path'}}, ...]}} ({error!r})") from error
    else:
        folders = [(rig.parent.relative_to(bench).parts[0] if rig.parent != bench else bench.name, rig.parent)
                   for rig in sorted(bench.rglob("rig.yaml"))]  # fmt: skip
    scenes = []
    for category, folder in folders:
        if categories is not None and category not in categories:
            continue
        frames = _frames(folder)
        base = f"{category}/{folder.name}"
        scenes += [BenchScene(base if len(frames) == 1 else f"{base}@{f}", category, folder, f) for f in frames]
    if not scenes:
        raise BenchmarkError(f"benchmark {bench}: found no scenes (categories {categories or 'all'})")
    order = {name: i for i, name in enumerate(CATEGORIES)}
    return sorted(scenes, key=lambda s: (order.get(s.category, len(order)), s.category, str(s.path), s.frame))


def _read_views(folder: Path, cameras: Sequence[Camera], frame: int, flags: int) -> np.ndarray:
    import cv2

    paths = [folder / camera.name / f"{frame:06d}.png" for camera in cameras]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise BenchmarkError(f"expected one image per camera, missing {missing[:3]}")
    return np.stack([cv2.imread(str(p), flags) for p in paths])


def bodies_from_params(params, model: str, rows: dict[int, tuple]) -> dict[int, BodyInfo]:
    """Bodies evaluated from parameters: `rows` maps person id -> index into params' batch (e.g. (p, t)).

    Returns BodyInfo with the mesh and the network's BodySurface (posed and rest vertices, global rotation).
    """
    from body import shared_body
    from body.surface import body_surface

    body = shared_body(model)
    result = {}
    for pid, index in rows.items():
        surface = body_surface(body, params, index)
        result[pid] = BodyInfo(Mesh(surface.vertices, surface.faces), surface)
    return result


def _gt_bodies(capture: Path, frame: int, person_ids: list[int]) -> tuple[dict[int, BodyInfo], str]:
    """Ground-truth bodies: gt/body_params.json (batch (P, T), persons in gt/scene.json order), else
    gt/body_meshes/<frame>/person_<id>.ply (mesh only)."""
    from body import load_params
    from render import load_mesh

    params_path = capture / "gt" / "body_params.json"
    if params_path.is_file():
        scene = json.loads((capture / "gt" / "scene.json").read_text())
        order = {int(p["person_id"]): i for i, p in enumerate(scene["people"])}
        params, meta = load_params(params_path)
        model = meta.get("model") or scene.get("body_model", "anny")
        return bodies_from_params(params, model, {pid: (order[pid], frame) for pid in person_ids}), "gt params"
    folder = capture / "gt" / "body_meshes" / f"{frame:06d}"
    meshes = {pid: folder / f"person_{pid}.ply" for pid in person_ids}
    return {pid: BodyInfo(load_mesh(path)) for pid, path in meshes.items() if path.is_file()}, "gt meshes"


def _fitted_bodies(run: RunLayout, frame: int, gt_meshes: dict[int, Mesh]) -> dict[int, BodyInfo]:
    """Bodies of a `capture body` run's frame, matched to the GT persons by their centroids (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    from body.frame_bodies import read_frame_bodies

    fitted = [BodyInfo(body.mesh(), body.surface) for body in read_frame_bodies(run, frame).values() if body.fitted]
    if not fitted:
        return {}
    ids = sorted(gt_meshes)
    cost = np.array([[np.linalg.norm(body.mesh.vertices.mean(0) - gt_meshes[pid].vertices.mean(0)) for body in fitted]
                     for pid in ids])  # fmt: skip
    rows, cols = linear_sum_assignment(cost)
    return {ids[r]: fitted[c] for r, c in zip(rows, cols)}


def load_scene(scene: BenchScene, body_runs: str | Path | None = None) -> SceneData:
    """Read one scene: cameras, views, labels, GT meshes and bodies.

    Args:
        scene: from `discover_scenes`.
        body_runs: when given, bodies are the fitted ones of `capture body`, read from
            `body_runs/<category>/<folder>/body/<frame:06d>.json` (matched to the GT persons by centroid);
            persons it lacks have no body. None: ground-truth bodies (see module docstring).
    """
    import cv2

    from calibration.rig_file import load_rig
    from render import load_mesh

    root = scene.path
    rig = load_rig(root / "rig.yaml", check_paths=False)
    cameras = list(rig.cameras)
    layout = rig.layout
    images_dir = layout.images if layout is not None and layout.images is not None else root / "images"
    masks_dir = layout.masks if layout is not None and layout.masks is not None else root / "masks"
    try:
        images = _read_views(images_dir, cameras, scene.frame, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0
        labels = _read_views(masks_dir, cameras, scene.frame, cv2.IMREAD_UNCHANGED).astype(np.int32)
    except BenchmarkError as error:
        raise BenchmarkError(f"scene {scene.name} ({root}): {error}") from None
    mesh_dir = root / "gt" / "meshes" / f"{scene.frame:06d}"
    gt = {int(p.stem.split("_")[1]): load_mesh(p) for p in sorted(mesh_dir.glob("person_*.ply"))}
    if not gt:
        raise BenchmarkError(f"scene {scene.name}: expected person_<id>.ply files in {mesh_dir}, found none")
    if body_runs is None:
        bodies, source = _gt_bodies(root, scene.frame, sorted(gt))
    else:
        run = RunLayout(Path(body_runs) / scene.category / root.name)
        path = run.body_file(scene.frame)
        bodies, source = (_fitted_bodies(run, scene.frame, gt) if path.is_file() else {}), f"fitted {path}"
    return SceneData(scene, cameras, images, labels, gt, bodies, source)


def write_bench_scene(
    out: str | Path,
    cameras: Sequence[Camera],
    people: dict[int, Mesh],
    category: str,
    bodies: dict[int, Mesh] | None = None,
    objects: Sequence[Mesh] = (),
    description: dict | None = None,
) -> Path:
    """Render `people` (and occluding `objects`) into a one-frame capture folder in the benchmark layout.

    Writes rig.yaml, images/, masks/ (labels 1 + person id, OBJECT_LABEL for objects), gt/meshes/000000/,
    gt/body_meshes/000000/ (from `bodies`), gt/objects/ and gt/scene.json. Returns the rig.yaml path.
    """
    from calibration.atomic import atomic_write_text, write_png
    from calibration.rig import CaptureLayout, FrameRange, Rig
    from calibration.rig_file import save_rig
    from render import RenderSettings, render, save_mesh

    out = Path(out)
    ids = sorted(people)
    meshes = [people[pid] for pid in ids] + list(objects)
    labels = np.array([1 + pid for pid in ids] + [OBJECT_LABEL] * len(objects), np.uint8)
    rendered = render(meshes, list(cameras), RenderSettings(ambient=0.35))
    for v, camera in enumerate(cameras):
        instance = rendered.instance_id[v]
        write_png(out / "images" / camera.name / "000000.png", (rendered.rgb[v, ..., ::-1] * 255.0 + 0.5).astype(np.uint8))
        write_png(out / "masks" / camera.name / "000000.png", np.where(instance >= 0, labels[instance], 0).astype(np.uint8))
    for pid in ids:
        save_mesh(out / "gt" / "meshes" / "000000" / f"person_{pid}.ply", people[pid])
    for pid, mesh in (bodies or {}).items():
        save_mesh(out / "gt" / "body_meshes" / "000000" / f"person_{pid}.ply", mesh)
    for k, obj in enumerate(objects):
        save_mesh(out / "gt" / "objects" / f"object_{k}.ply", obj)
    scene = {"category": category, "frames": 1, "people": [{"person_id": pid} for pid in ids], **(description or {})}
    atomic_write_text(out / "gt" / "scene.json", json.dumps(scene, indent=1))
    layout = CaptureLayout(images=out / "images", masks=out / "masks", frames=FrameRange(0, 1))
    return save_rig(Rig(tuple(cameras), layout), out / "rig.yaml", header=f"benchmark scene: category {category}")


def write_manifest(bench: str | Path, scenes: Sequence[tuple[str, str]], source: str) -> Path:
    """BENCH/manifest.json listing (category, path relative to BENCH) scenes, in the format `capture
    synth-bench` writes."""
    from calibration.atomic import atomic_write_text

    path = Path(bench) / MANIFEST
    document = {"format": "multicap.benchmark", "version": 1, "source": source,
                "categories": list(dict.fromkeys(c for c, _ in scenes)),
                "scenes": [{"category": c, "path": p} for c, p in scenes]}  # fmt: skip
    atomic_write_text(path, json.dumps(document, indent=1))
    return path


# --- the MultiHuman release (Zheng et al., ICCV 2021) -----------------------------------------------------------

MULTIHUMAN_CATEGORY_WORDS = (("occlu", "occluded_single"), ("three", "three"), ("close", "two_close"),
                             ("natural", "two_natural"), ("two", "two_natural"), ("single", "single"))  # fmt: skip
"""A release folder name containing the word (first match, case-insensitive) -> our category name."""


@dataclass(frozen=True)
class MultiHumanConfig:
    """How `prepare_multihuman` turns released scans into benchmark scenes."""

    views: int = 6
    """Cameras on a ring around the scene, as in the paper."""
    image_size: int = 512
    """Width and height of each view, pixels."""
    up: str = "y"
    """Up axis of the released files ('y' for the normalised scans, 'z' if already z-up)."""
    person_height_m: float = 1.70
    """The scene is scaled uniformly so that its people's median height is this (the release is normalised,
    not metric); the metrics rescale each person to 1.80 m anyway, only the network's inputs care."""
    camera_height_m: float = 1.5
    """Height of the ring cameras above the floor, metres."""


def multihuman_category(name: str) -> str:
    """Our category for a release folder name (e.g. 'two_closely_inter' -> 'two_close'); unknown names stay."""
    lowered = name.lower()
    return next((category for word, category in MULTIHUMAN_CATEGORY_WORDS if word in lowered), name)


def _mesh_files(folder: Path) -> dict[str, Path]:
    """{key: mesh file} for each .obj/.ply directly in `folder` (key = stem) or in a sub-folder (key = its name)."""
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if entry.is_file() and entry.suffix.lower() in (".obj", ".ply"):
            found[entry.stem] = entry
        elif entry.is_dir():
            inner = sorted(p for p in entry.iterdir() if p.suffix.lower() in (".obj", ".ply"))
            if inner:
                found[entry.name] = inner[0]
    return found


@dataclass(frozen=True)
class MultiHumanScene:
    """One released scene: person scans (obj/), the whole scene (obj_all/, optional) and SMPL-X fits (smplx/)."""

    category: str
    name: str
    people: list[Path]
    scene: Path | None
    bodies: list[Path | None]


def find_multihuman_scenes(root: str | Path) -> list[MultiHumanScene]:
    """The scenes of a MultiHuman release folder. Two layouts are read (docs/evaluation.md):

    per scene     ROOT/<category>/<scene>/obj/<person>.obj (or obj/<person>/<any>.obj), obj_all/, smplx/
    per category  ROOT/<category>/obj/<scene>_<person>/<any>.obj, obj_all/<scene>/, smplx/<scene>_<person>/

    Persons are numbered 0, 1, ... in name order; the SMPL-X fit of a person has the person's key.
    """
    root = Path(root)
    if not root.is_dir():
        raise BenchmarkError(f"MultiHuman release {root}: expected a folder, found none")
    scenes = []
    for obj_dir in sorted(root.rglob("obj")):
        if not obj_dir.is_dir():
            continue
        files, parent = _mesh_files(obj_dir), obj_dir.parent
        category_dir = parent if parent.parent == root else parent.parent
        bodies, alls = _mesh_files(parent / "smplx"), _mesh_files(parent / "obj_all")
        if parent.parent == root:  # per category: keys are <scene>_<person>
            groups: dict[str, list[str]] = {}
            for key in files:
                groups.setdefault(key.rsplit("_", 1)[0] if "_" in key else key, []).append(key)
            for scene, keys in groups.items():
                scenes.append(MultiHumanScene(multihuman_category(category_dir.name), scene, [files[k] for k in keys],
                                              alls.get(scene), [bodies.get(k) for k in keys]))  # fmt: skip
        elif files:
            scenes.append(MultiHumanScene(multihuman_category(category_dir.name), parent.name, list(files.values()),
                                          next(iter(alls.values()), None), [bodies.get(k) for k in files]))  # fmt: skip
    if not scenes:
        raise BenchmarkError(f"MultiHuman release {root}: found no obj/ folder with meshes (layouts: docs/evaluation.md)")
    return scenes


def _load_scan(path: Path, to_world: np.ndarray) -> Mesh:
    """A scan as a Mesh with vertex colours (texture sampled at the vertices when the file has one), axes
    mapped by `to_world` (3, 3)."""
    import trimesh

    from render import load_mesh

    mesh = load_mesh(path)
    colors = mesh.colors
    if colors is None:
        loaded = trimesh.load(path, force="mesh", process=False)
        if getattr(loaded.visual, "kind", None) == "texture":
            colors = np.asarray(loaded.visual.to_color().vertex_colors)[:, :3] / 255.0
    return Mesh(mesh.vertices @ to_world.T, mesh.faces, colors=colors)


def _ring_rig(centre: np.ndarray, radius: float, config: MultiHumanConfig) -> list[Camera]:
    """config.views cameras on a circle around `centre` (z up), all seeing the sphere of `radius` around it."""
    from calibration.ring_rig import ring_rig

    distance = max(3.0, 2.2 * radius)
    half_angle = np.arcsin(min(0.95, radius / distance)) * 1.1
    size = config.image_size
    return list(ring_rig(config.views, radius=distance, height=config.camera_height_m, target=tuple(centre),
                         image_size=(size, size), fov_deg=float(np.degrees(2.0 * half_angle)),
                         around=(float(centre[0]), float(centre[1]))).cameras)  # fmt: skip


def _scene_objects(scene_mesh: Mesh, people: list[Mesh], gap_m: float = 0.02) -> list[Mesh]:
    """The part of the whole-scene scan that is not a person (occluded_single: the objects), as one mesh:
    its faces whose centroid is more than `gap_m` from every person scan. [] when nothing is left."""
    from multihuman_eval.surface import point_to_surface_distances

    offsets = np.cumsum([0] + [len(m.vertices) for m in people[:-1]])
    merged = Mesh(np.concatenate([m.vertices for m in people]),
                  np.concatenate([m.faces + o for m, o in zip(people, offsets)]))  # fmt: skip
    centroids = scene_mesh.vertices[scene_mesh.faces].mean(axis=1)
    keep = point_to_surface_distances(centroids, merged) > gap_m
    if not keep.any():
        return []
    used = np.unique(scene_mesh.faces[keep])
    remap = np.full(len(scene_mesh.vertices), -1, np.int64)
    remap[used] = np.arange(len(used))
    colors = None if scene_mesh.colors is None else scene_mesh.colors[used]
    return [Mesh(scene_mesh.vertices[used], remap[scene_mesh.faces[keep]], colors=colors)]


def prepare_multihuman(root: str | Path, out: str | Path, config: MultiHumanConfig = MultiHumanConfig(),
                       force: bool = False) -> list[BenchScene]:  # fmt: skip
    """Render the MultiHuman release at `root` into a benchmark folder `out` (then `discover_scenes(out)`).

    Per scene, as the paper does: the scans are mapped to this project's world (z up, metres: scaled so the
    median person is `person_height_m` tall, floor at z = 0, centred), rendered into `views` cameras on a ring
    around the scene, with masks from the person scans (what obj_all/ holds besides the people gets label 255).
    SMPL-X fit meshes become gt/body_meshes/ (the body-only baseline and the grids). Scenes already written are
    kept unless `force`.
    """
    out = Path(out)
    if config.up not in ("y", "z"):
        raise BenchmarkError(f"MultiHumanConfig.up: expected 'y' or 'z', got {config.up!r}")
    to_world = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]) if config.up == "y" else np.eye(3)
    counters: dict[str, int] = {}
    listed = []
    for released in find_multihuman_scenes(root):
        k = counters[released.category] = counters.get(released.category, -1) + 1
        folder = f"{released.category}/{k:03d}"
        listed.append((released.category, folder))
        if (out / folder / "rig.yaml").is_file() and not force:
            continue
        people = [_load_scan(p, to_world) for p in released.people]
        bodies = {i: _load_scan(p, to_world) for i, p in enumerate(released.bodies) if p is not None}
        extras = [_load_scan(released.scene, to_world)] if released.scene is not None else []
        heights = [np.ptp(m.vertices[:, 2]) for m in people]
        scale = config.person_height_m / float(np.median(heights))
        low = np.min([m.vertices.min(0) for m in people], axis=0)
        high = np.max([m.vertices.max(0) for m in people], axis=0)
        shift = np.array([-(low[0] + high[0]) / 2, -(low[1] + high[1]) / 2, -low[2]])

        def place(mesh: Mesh) -> Mesh:
            return Mesh((mesh.vertices + shift / scale) * scale, mesh.faces, colors=mesh.colors)

        people, extras = [place(m) for m in people], [place(m) for m in extras]
        bodies = {i: place(m) for i, m in bodies.items()}
        points = np.concatenate([m.vertices for m in people])
        centre = np.array([0.0, 0.0, 0.5 * points[:, 2].max()])
        cameras = _ring_rig(centre, float(np.linalg.norm(points - centre, axis=1).max()) + 0.1, config)
        objects = _scene_objects(extras[0], people) if extras else []
        write_bench_scene(out / folder, cameras, dict(enumerate(people)), released.category, bodies, objects,
                          {"source": "MultiHuman", "release_scene": released.name, "scale": scale,
                           "files": [str(p) for p in released.people]})  # fmt: skip
        logger.info("MultiHuman %s -> %s (%d people, scale %.3f)", released.name, out / folder, len(people), scale)
    write_manifest(out, listed, f"MultiHuman release {Path(root).resolve()}")
    return discover_scenes(out)
