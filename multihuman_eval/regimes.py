"""Three input regimes of one benchmark, scored side by side (docs/evaluation.md, "Input regimes").

| regime | bodies | masks |
| --- | --- | --- |
| `oracle` | ground-truth parameters | ground truth |
| `fitted` | `capture body` on keypoints `capture keypoints` detected in the images | ground truth |
| `images` | as `fitted` | `capture segment` from the images and the fitted bodies (no masks given) |

The detection, fit and segmentation are the project's own commands (`capture keypoints`, `capture body`,
`capture segment`), run per scene into RUNS/<category>/<folder>/ (`run_folder`) from a copy of the scene's rig that
names only its images, so nothing sees the true masks (bench/bench_independent.py runs them: this package sits
below `capture`). The methods and the runner are `capture eval`'s; a person the body
stage did not find has no body, every method then reconstructs nothing for them (status `empty`): it counts
as not reconstructed.

    prepare_runs(scenes, RUNS)              # bench/bench_independent.py: detections, fits, segmentations
    results = run_regimes(scenes, ["ours", "visual-hull", "body-only"], RUNS, OUT, config)
    table = regime_table(results, OUT)                                 # markdown, regimes side by side
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from multihuman_eval.benchmark import OBJECT_LABEL, BenchScene, SceneData, load_scene
from multihuman_eval.runner import SceneResult
from render.mesh import Mesh

REGIMES = {"oracle": "true bodies, true masks", "fitted": "fitted bodies, true masks",
           "images": "fitted bodies, masks segmented from the images"}  # fmt: skip


def run_folder(runs: Path, scene: BenchScene) -> Path:
    """Where the stages of `scene` run: RUNS/<category>/<capture folder name> (the `--body-runs` layout)."""
    return Path(runs) / scene.category / scene.path.name


def segmented_labels(data: SceneData, run: Path) -> np.ndarray:
    """(V, H, W) label maps of `capture segment` in RUN/masks/ rewritten to the scene's person ids: a track's
    pixels get the label of the ground-truth person its body was matched to (`load_scene` with `body_runs`
    matched them by centroid); tracks matched to nobody become OBJECT_LABEL (unknown for everyone)."""
    from body.frame_bodies import read_frame_bodies
    from calibration.run_layout import RunLayout
    from segmentation import read_label_map

    fitted = {track: body.mesh() for track, body in read_frame_bodies(RunLayout(run), data.scene.frame).items()
              if body.fitted}  # fmt: skip
    lookup = np.full(65536, OBJECT_LABEL, np.int32)
    lookup[0] = 0
    for pid, info in data.bodies.items():
        centre = info.mesh.vertices.mean(0)
        track = min(fitted, key=lambda t: np.linalg.norm(fitted[t].vertices.mean(0) - centre))
        lookup[track + 1] = pid + 1
    maps = [read_label_map(run / "masks" / camera.name / f"{data.scene.frame:06d}.png") for camera in data.cameras]
    return lookup[np.stack(maps).astype(np.int64)]


def regime_loader(regime: str, runs: Path):
    """BenchScene -> SceneData for `regime` (REGIMES)."""
    if regime == "oracle":
        return load_scene

    def load(scene: BenchScene) -> SceneData:
        data = load_scene(scene, body_runs=runs)
        if regime == "images":
            run = run_folder(runs, scene)
            labels = segmented_labels(data, run) if data.bodies else np.zeros_like(data.labels)
            data = dataclasses.replace(data, labels=labels)
        return data

    return load


def skip_missing_bodies(method):
    """The method, but an empty mesh for a person without a body (not found by the body stage)."""

    def run(scene: SceneData, person_id: int) -> Mesh:
        if person_id not in scene.bodies:
            return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64))
        return method(scene, person_id)

    return run


def run_regimes(scenes: Sequence[BenchScene], methods: dict, runs: str | Path, out: str | Path, settings: dict,
                regimes: Sequence[str] = tuple(REGIMES), force: bool = False) -> dict[str, list[SceneResult]]:  # fmt: skip
    """Every method on every scene in each regime, with `capture eval`'s runner: OUT/<regime>/results/... .

    Args:
        methods: {name: Method} (`multihuman_eval.methods.build_methods`).
        runs: the folder `prepare_runs` filled.
        settings: `MethodConfig.describe()`; the regime is added.
    """
    from multihuman_eval.runner import run_benchmark

    results = {}
    for regime in regimes:
        wrapped = {name: skip_missing_bodies(method) for name, method in methods.items()}
        results[regime] = run_benchmark(scenes, wrapped, Path(out) / regime, {**settings, "regime": regime},
                                        force=force, body_runs=None if regime == "oracle" else runs,
                                        loader=regime_loader(regime, Path(runs)))  # fmt: skip
    return results


def largest_component_share(mesh: Mesh) -> float:
    """Share of the mesh's area in its largest edge-connected component (trimesh's face adjacency, after
    merging vertices at the same position)."""
    import trimesh

    shape = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)
    labels = trimesh.graph.connected_component_labels(shape.face_adjacency, node_count=len(shape.faces))
    areas = np.bincount(labels, weights=shape.area_faces)
    return float(areas.max() / areas.sum())


def _summary(results: Sequence[SceneResult], out: Path, category: str | None) -> dict:
    """Mean Chamfer / P2S over reconstructed persons, persons reconstructed / total, mean largest-component
    share (of the meshes) for the results of one method in one regime (one category, or all when None)."""
    from render import load_mesh

    persons = [p for r in results if category in (None, r.category) for p in r.persons]
    done = [p for p in persons if p.status == "ok"]
    shares = [largest_component_share(load_mesh(out / p.mesh)) for p in done]
    mean = lambda values: float(np.mean(values)) if values else float("nan")  # noqa: E731
    return {"chamfer": mean([p.chamfer_cm for p in done]), "p2s": mean([p.p2s_rec_to_gt_cm for p in done]),
            "done": len(done), "total": len(persons), "share": mean(shares)}  # fmt: skip


def regime_tables(results: dict[str, list[SceneResult]], out: str | Path) -> str:
    """Markdown: one table over all persons (per method: each regime's Chamfer, P2S, people reconstructed and
    area in the largest component, side by side), then one per category (Chamfer / P2S per regime)."""
    out = Path(out)
    regimes = list(results)
    methods = list(dict.fromkeys(r.method for rs in results.values() for r in rs))
    categories = list(dict.fromkeys(r.category for rs in results.values() for r in rs))
    by = {(g, m): [r for r in results[g] if r.method == m] for g in regimes for m in methods}
    fmt = lambda x: "-" if not np.isfinite(x) else f"{x:.2f}"  # noqa: E731
    head = "| method | " + " | ".join(f"{g} Chamfer | {g} P2S | {g} people | {g} largest part" for g in regimes) + " |"
    lines = ["All persons (cm; people: reconstructed / in the set; largest part: mean share of a mesh's area in its "
             "largest connected component):", "", head, "| --- |" + " ---: |" * (4 * len(regimes))]  # fmt: skip
    for m in methods:
        cells = []
        for g in regimes:
            s = _summary(by[g, m], out / g, None)
            cells += [fmt(s["chamfer"]), fmt(s["p2s"]), f"{s['done']}/{s['total']}", f"{100 * s['share']:.1f} %"]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", "Per category, Chamfer / P2S (cm) per regime:", "",
              "| method | " + " | ".join(f"{c} {g}" for c in categories for g in regimes) + " |",
              "| --- |" + " ---: |" * (len(categories) * len(regimes))]  # fmt: skip
    for m in methods:
        cells = []
        for c in categories:
            for g in regimes:
                s = _summary(by[g, m], out / g, c)
                missing = "" if s["done"] == s["total"] else f" ({s['done']}/{s['total']})"
                cells.append(f"{fmt(s['chamfer'])} / {fmt(s['p2s'])}{missing}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
