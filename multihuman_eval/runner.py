"""Run methods on benchmark scenes and score every person, resumably (one cached JSON per method and scene).

    results = run_benchmark(scenes, methods, OUT, settings)      # list[SceneResult], cached ones reused

Files (OUT = the report folder):
    OUT/results/<method>/<category>/<scene>.json     SceneResult: per-person metrics, timings, status
    OUT/meshes/<method>/<category>/<scene>/person_<id>.ply   the reconstructions (for the error figures)

A scene whose JSON exists with the same settings is not run again unless `force`; a JSON with other settings
(resolution, sample count, ...) is recomputed. Method names with ':' are written with '_' in paths.
Each person is scored against their own ground-truth mesh (`evaluate_surface`, scaled by their own height);
an empty reconstruction is recorded as status 'empty' with no numbers, never silently dropped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from calibration.atomic import atomic_write_text
from multihuman_eval.benchmark import BenchScene, SceneData, load_scene
from multihuman_eval.metrics import SurfaceMetricsConfig, evaluate_surface
from render.mesh import Mesh, save_mesh

logger = logging.getLogger(__name__)

RESULT_FORMAT = "multicap.eval_scene"


@dataclass
class PersonResult:
    """One person of one scene by one method; metric fields as in `SurfaceMetrics` (cm), None when empty."""

    person_id: int
    status: str
    chamfer_cm: float | None = None
    p2s_rec_to_gt_cm: float | None = None
    p2s_gt_to_rec_cm: float | None = None
    gt_height_m: float | None = None
    scale_factor: float | None = None
    faces: int = 0
    seconds: float = 0.0
    mesh: str | None = None
    """The reconstruction's path relative to OUT, or None when empty."""


@dataclass
class SceneResult:
    """One method on one scene: its persons, the settings that produced them, where bodies came from."""

    method: str
    scene: str
    category: str
    persons: list[PersonResult]
    settings: dict
    body_source: str = ""
    seconds: float = 0.0

    @property
    def ok_persons(self) -> list[PersonResult]:
        return [p for p in self.persons if p.status == "ok"]

    def mean(self, metric: str) -> float | None:
        """Plain mean of `metric` over this scene's scored persons; None if none was scored."""
        values = [getattr(p, metric) for p in self.ok_persons]
        return sum(values) / len(values) if values else None

    def to_dict(self) -> dict:
        return {"format": RESULT_FORMAT, "version": 1, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> "SceneResult":
        fields = {k: data[k] for k in ("method", "scene", "category", "settings", "body_source", "seconds")}
        return cls(persons=[PersonResult(**p) for p in data["persons"]], **fields)


def slug(method: str) -> str:
    """A method name as a path component ('ours:mean_pooling' -> 'ours_mean_pooling')."""
    return method.replace(":", "_").replace("/", "_")


def result_path(out: Path, method: str, scene: BenchScene) -> Path:
    return Path(out) / "results" / slug(method) / f"{scene.name.replace('@', '_f')}.json"


def mesh_path(out: Path, method: str, scene: BenchScene, person_id: int) -> Path:
    return Path(out) / "meshes" / slug(method) / scene.name.replace("@", "_f") / f"person_{person_id}.ply"


def read_result(path: Path) -> SceneResult | None:
    """The cached result at `path`, or None when missing or unreadable (it is then recomputed)."""
    try:
        data = json.loads(path.read_text())
        if data.get("format") != RESULT_FORMAT:
            return None
        return SceneResult.from_dict(data)
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
        if path.exists():
            logger.warning("%s: unreadable cached result (%s); recomputing", path, error)
        return None


def score_scene(
    method: str,
    run: Callable[[SceneData, int], Mesh],
    data: SceneData,
    out: Path,
    settings: dict,
    metrics: SurfaceMetricsConfig,
) -> SceneResult:
    """Run `run` on every person of `data`, save the meshes under `out` and score them."""
    persons = []
    start = time.perf_counter()
    for pid in data.person_ids:
        t0 = time.perf_counter()
        mesh = run(data, pid)
        seconds = time.perf_counter() - t0
        if mesh.num_faces == 0:
            logger.warning("%s on %s: person %d: empty reconstruction", method, data.scene.name, pid)
            persons.append(PersonResult(pid, "empty", seconds=seconds))
            continue
        path = mesh_path(out, method, data.scene, pid)
        save_mesh(path, mesh)
        m = evaluate_surface(mesh, data.gt_meshes[pid], metrics)
        persons.append(PersonResult(pid, "ok", m.chamfer_cm, m.p2s_rec_to_gt_cm, m.p2s_gt_to_rec_cm, m.gt_height_m,
                                    m.scale_factor, mesh.num_faces, seconds, str(path.relative_to(out))))  # fmt: skip
    return SceneResult(method, data.scene.name, data.scene.category, persons, settings, data.body_source,
                       time.perf_counter() - start)  # fmt: skip


def run_benchmark(
    scenes: Sequence[BenchScene],
    methods: Mapping[str, Callable[[SceneData, int], Mesh]],
    out: str | Path,
    settings: dict,
    metrics: SurfaceMetricsConfig = SurfaceMetricsConfig(),
    force: bool = False,
    body_runs: str | Path | None = None,
    loader: Callable[[BenchScene], SceneData] | None = None,
) -> list[SceneResult]:
    """Every method on every scene; results cached as JSON under `out` (module docstring).

    Args:
        scenes: from `discover_scenes`.
        methods: {name: Method} (multihuman_eval.methods.build_methods).
        out: the report folder.
        settings: what else determines the numbers (e.g. `MethodConfig.describe()`); stored with each result,
            together with the metric settings; a cached result with different settings is recomputed.
        metrics: sampling and scaling of the surface metrics.
        force: recompute cached results too.
        body_runs: fitted bodies instead of ground-truth ones (`load_scene`).
        loader: reads a scene instead of `load_scene(scene, body_runs)` (e.g. other masks); say what it changes
            in `settings`.

    Returns:
        One SceneResult per (scene, method), scenes in order, methods in order.
    """
    out = Path(out)
    settings = {**settings, "metrics": dataclasses.asdict(metrics),
                "bodies": str(body_runs) if body_runs is not None else "ground truth"}  # fmt: skip
    settings = json.loads(json.dumps(settings))  # as it reads back from JSON (tuples -> lists)
    results = []
    for index, scene in enumerate(scenes):
        cached = {name: None if force else read_result(result_path(out, name, scene)) for name in methods}
        todo = [name for name, r in cached.items() if r is None or r.settings != settings]
        data = (loader(scene) if loader is not None else load_scene(scene, body_runs)) if todo else None
        for name, run in methods.items():
            if name not in todo:
                logger.info("[%d/%d] %s %s: cached", index + 1, len(scenes), scene.name, name)
                results.append(cached[name])
                continue
            result = score_scene(name, run, data, out, settings, metrics)
            atomic_write_text(result_path(out, name, scene), json.dumps(result.to_dict(), indent=1))
            chamfer = result.mean("chamfer_cm")
            logger.info("[%d/%d] %s %s: chamfer %s cm, %.1f s", index + 1, len(scenes), scene.name, name,
                        "n/a" if chamfer is None else f"{chamfer:.2f}", result.seconds)  # fmt: skip
            results.append(result)
    return results
