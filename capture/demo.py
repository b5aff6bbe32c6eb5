"""The built-in demo (what `make demo` runs): a synthetic scene, reconstructed and scored against its ground truth.

    synth (people in clothes, a ring of cameras, images + masks + 2D keypoints + ground truth)
    -> capture reconstruct (body, segmentation, per-person meshes, fusion, scene meshes, report), twice:
       "from images": the images alone, as a real rig gives them (keypoints detected, people segmented), out/run_images;
       "oracle inputs": synth's exact 2D keypoints and masks, out/run
    -> Chamfer / P2S per person-frame against the ground-truth meshes (multihuman_eval protocol: cm, scaled to 1.80 m)

The reconstruction's track ids are matched to the ground-truth person ids per frame by the 3D keypoints
(Hungarian assignment on the mean joint distance). Rows of the table: the final meshes (fused unless fusion is
off), the per-frame meshes before fusion, and the fitted body alone (the baseline that needs no images).
A rerun reuses the capture and the finished stages (`capture reconstruct` resumes).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from calibration.atomic import atomic_write_text
from calibration.run_layout import RunLayout

logger = logging.getLogger(__name__)

MATCH_DISTANCE_M = 0.5
"""A track further than this (mean keypoint distance) from every ground-truth person is left unmatched."""


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the demo scene and of its reconstruction."""

    people: int = 3
    """people in the scene"""
    views: int = 6
    """cameras on the ring"""
    frames: int = 3
    """frames (30 fps); the body stage's tracker needs >= 3"""
    size: int = 256
    """image width and height, pixels"""
    resolution: int = 128
    """grid samples along a person's longest side"""
    fit_iterations: int = 30
    """L-BFGS iterations of the body fit"""
    category: str = "natural"
    """synthetic scene category"""
    seed: int = 0
    """random seed of the scene"""
    method: str | None = None
    """network or visual-hull (default: network when its weights are shipped, else the visual hull)"""
    fusion: bool = True
    """temporal fusion"""
    from_images: bool = True
    """also reconstruct from the images alone (keypoints detected, people segmented), beside the oracle inputs"""


REGIMES = {"from images": "run_images", "oracle inputs": "run"}
"""Demo regime -> its run folder under the demo's output: the images alone, or synth's keypoints and masks."""


@dataclass(frozen=True)
class Row:
    """Mean metrics of one variant over the matched person-frames, cm."""

    name: str
    chamfer_cm: float
    p2s_cm: float
    person_frames: int
    regime: str = "oracle inputs"


@dataclass
class DemoResult:
    rows: list[Row]
    per_person: dict[str, dict[int, tuple[float, float]]]
    """regime -> ground-truth person id -> (Chamfer, P2S) of the final meshes averaged over frames, cm"""
    method: str
    method_note: str
    report: Path
    run_dir: Path
    seconds: dict[str, float] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)


def write_demo_capture(out: Path, config: DemoConfig) -> Path:
    """The synthetic capture's rig.yaml (rendered unless it is already there)."""
    rig_path = out / "rig.yaml"
    if rig_path.is_file() and (out / "gt" / "scene.json").is_file():
        logger.info("demo: reusing the synthetic capture in %s", out)
        return rig_path
    from body.anny_body import AnnyBody
    from synth.capture_writer import write_capture
    from synth.scene import make_scene

    scene = make_scene(AnnyBody(), config.category, config.people, config.frames, config.seed,
                       num_views=config.views, image_size=config.size)  # fmt: skip
    return write_capture(scene, out)


def write_images_only_rig(rig_path: Path) -> Path:
    """`rig_from_images.yaml` beside `rig_path`: the same cameras and images without the capture's keypoints and
    masks, so that `capture reconstruct` detects and segments as on a real capture."""
    from calibration.rig import CaptureLayout, Rig
    from calibration.rig_file import load_rig, save_rig

    rig = load_rig(rig_path)
    layout = CaptureLayout(images=rig.layout.images, frames=rig.layout.frames, fps=rig.layout.fps,
                           camera_folders=rig.layout.camera_folders)  # fmt: skip
    path = rig_path.with_name("rig_from_images.yaml")
    save_rig(Rig(rig.cameras, layout), path)
    return path


def match_tracks(run_dir: Path, capture_dir: Path, frame: int) -> dict[int, int]:
    """{track id: ground-truth person id} of one frame, by the 3D keypoints (module docstring)."""
    from scipy.optimize import linear_sum_assignment

    from body.capture_io import read_body_frame

    _, people = read_body_frame(RunLayout(run_dir).body_file(frame))
    truth = json.loads((capture_dir / "gt" / "keypoints3d" / f"{frame:06d}.json").read_text(encoding="utf-8"))
    available = np.asarray(truth["available"], bool)
    gt_ids = [int(p["person_id"]) for p in truth["people"]]
    gt_points = np.asarray([p["keypoints"] for p in truth["people"]], np.float64)  # (P, K, 3)
    if not people or not gt_ids:
        return {}
    cost = np.full((len(people), len(gt_ids)), 1e3)
    for i, person in enumerate(people):
        if person.layout != truth["layout"]:
            continue
        distances = np.linalg.norm(person.keypoints[None, available] - gt_points[:, available], axis=-1)
        cost[i] = distances.mean(axis=1)
    rows, cols = linear_sum_assignment(cost)
    return {people[r].id: gt_ids[c] for r, c in zip(rows, cols) if cost[r, c] < MATCH_DISTANCE_M}


def evaluate_run(run_dir: Path, capture_dir: Path, frames: list[int], fusion: bool) -> tuple[list[Row], dict, list[str]]:
    """Table rows (final, per-frame, body alone), per ground-truth person means and the unmatched tracks."""
    from multihuman_eval import evaluate_persons
    from render import load_mesh
    from segmentation.run import fitted_body_meshes

    scores: dict[str, list] = {"final": [], "per_frame": [], "body": []}
    per_person: dict[int, list] = {}
    unmatched, run = [], RunLayout(run_dir)
    for frame in frames:
        matches = match_tracks(run_dir, capture_dir, frame)
        body_ids, body_meshes = fitted_body_meshes(run, frame)
        bodies = dict(zip(body_ids, body_meshes))
        variants = {
            "final": {t: run.final_mesh_file(frame, t, fusion) for t in matches},
            "per_frame": {t: run.mesh_file(frame, t) for t in matches},
        }
        for track in matches:
            if not variants["final"][track].is_file():
                unmatched.append(f"frame {frame}: track {track} has no mesh")
        gts = {g: load_mesh(capture_dir / "gt" / "meshes" / f"{frame:06d}" / f"person_{g}.ply") for g in matches.values()}
        for name, paths in variants.items():
            recs = {matches[t]: load_mesh(p) for t, p in paths.items() if p.is_file()}
            metrics = evaluate_persons(recs, {g: gts[g] for g in recs})
            scores[name] += [(m.chamfer_cm, m.p2s_rec_to_gt_cm) for m in metrics.values()]
            if name == "final":
                for g, m in metrics.items():
                    per_person.setdefault(g, []).append((m.chamfer_cm, m.p2s_rec_to_gt_cm))
        recs = {matches[t]: bodies[t] for t in matches if t in bodies}
        scores["body"] += [(m.chamfer_cm, m.p2s_rec_to_gt_cm) for m in evaluate_persons(recs, {g: gts[g] for g in recs}).values()]
        truth = json.loads((capture_dir / "gt" / "keypoints3d" / f"{frame:06d}.json").read_text(encoding="utf-8"))
        missed = {int(p["person_id"]) for p in truth["people"]} - set(matches.values())
        unmatched += [f"frame {frame}: ground-truth person {g} has no matching track" for g in sorted(missed)]
    names = {"final": "fused meshes" if fusion else "meshes", "per_frame": "per-frame meshes", "body": "fitted body alone"}
    rows = [Row(names[k], float(np.mean([c for c, _ in v])), float(np.mean([p for _, p in v])), len(v))
            for k, v in scores.items() if v and not (k == "per_frame" and not fusion)]  # fmt: skip
    means = {g: (float(np.mean([c for c, _ in v])), float(np.mean([p for _, p in v]))) for g, v in sorted(per_person.items())}
    return rows, means, unmatched


def run_demo(out: Path, config: DemoConfig = DemoConfig()) -> DemoResult:
    """Synthesise (or reuse) the capture in out/capture, reconstruct it in each regime (`REGIMES`: out/run_images
    unless `config.from_images` is off, and out/run), score; writes out/evaluation.json."""
    from capture.pipeline import PipelineError, ReconstructConfig, reconstruct

    out = Path(out)
    seconds = {}
    start = time.perf_counter()
    rig_path = write_demo_capture(out / "capture", config)
    rigs = {"from images": write_images_only_rig(rig_path)} if config.from_images else {}
    rigs["oracle inputs"] = rig_path
    seconds["synth"] = time.perf_counter() - start
    rows, per_person, unmatched = [], {}, []
    for regime, rig in rigs.items():
        start = time.perf_counter()
        settings = ReconstructConfig(rig=rig, out=out / REGIMES[regime], resolution=config.resolution,
                                     method=config.method, fusion=config.fusion, fit_iterations=config.fit_iterations)  # fmt: skip
        try:
            run = reconstruct(settings)
        except PipelineError as error:
            if regime == "oracle inputs":
                raise
            unmatched.append(f"{regime}: no reconstruction ({error})")  # e.g. nobody detected in small images
            continue
        seconds[f"reconstruct {regime}"] = time.perf_counter() - start
        start = time.perf_counter()
        regime_rows, per_person[regime], missing = evaluate_run(run.run_dir, out / "capture", run.frames, config.fusion)
        seconds[f"evaluate {regime}"] = time.perf_counter() - start
        rows += [Row(row.name, row.chamfer_cm, row.p2s_cm, row.person_frames, regime) for row in regime_rows]
        unmatched += [f"{regime}: {message}" for message in missing]
    result = DemoResult(rows, per_person, run.method, run.method_note, run.report, run.run_dir, seconds, unmatched)
    document = {"config": asdict(config), "method": run.method, "method_note": run.method_note,
                "rows": [asdict(row) for row in rows],
                "per_person": {regime: {str(k): v for k, v in means.items()} for regime, means in per_person.items()},
                "unmatched": unmatched, "seconds": seconds, "report": str(run.report)}  # fmt: skip
    atomic_write_text(out / "evaluation.json", json.dumps(document, indent=1))
    return result
