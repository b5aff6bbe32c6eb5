"""The independent held-out set (multihuman_eval.independent_scenes, no `synth`) in three regimes.

    .venv/bin/python bench/bench_independent.py [OUT] [--scenes-per-category 2] [--seed 0] [--resolution 128]
        [--methods ours,visual-hull,body-only] [--regimes oracle,fitted,images] [--only-scenes] [--sheet]

OUT (default /work/cache/independent, never inside the repository) gets bench/ (the scenes, `capture eval
--bench` reads it unchanged), runs/ (capture keypoints, body and segment per scene) and report/<regime>/ (the
runner's results and meshes); the tables (multihuman_eval.regimes.regime_tables) are printed and written to
OUT/tables.md. With --sheet, docs/independent_contact_sheet.png: per category the first view, the ground
truth and the network's meshes (regime oracle).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from multihuman_eval.regimes import run_folder  # noqa: E402

logger = logging.getLogger("bench_independent")
SHEET = ROOT / "docs" / "independent_contact_sheet.png"


def images_rig(scene, run: Path) -> Path:
    """RUN/rig_images.yaml: the scene's cameras and images only (no masks, no keypoints)."""
    from calibration.rig import CaptureLayout, FrameRange, Rig
    from calibration.rig_file import load_rig, save_rig

    rig = load_rig(scene.path / "rig.yaml", check_paths=False)
    layout = CaptureLayout(images=rig.layout.images, frames=FrameRange(scene.frame, scene.frame + 1))
    return save_rig(Rig(rig.cameras, layout), run / "rig_images.yaml", header="images only (regimes fitted, images)")


def prepare_runs(scenes, runs: str | Path) -> dict[str, dict]:
    """`capture keypoints`, `capture body` and `capture segment` on every scene's images (each resumes).

    Returns {scene name: {"rc": {stage: exit code}, "people": tracks with a fitted body}}."""
    from body.frame_bodies import read_frame_bodies
    from calibration.run_layout import RunLayout
    from capture.cli import main as capture

    summary = {}
    for scene in scenes:
        run = run_folder(Path(runs), scene)
        run.mkdir(parents=True, exist_ok=True)
        rig = str(images_rig(scene, run))
        codes = {}
        for stage in ("keypoints", "body", "segment"):
            target = {"keypoints": ["--out", str(run)], "body": ["--out", str(run), "--keypoints", str(run / "keypoints")],
                      "segment": ["--run", str(run)]}[stage]  # fmt: skip
            codes[stage] = capture([stage, "--rig", rig, *target])
            if codes[stage] != 0:
                logger.warning("%s: capture %s failed (exit %d)", scene.name, stage, codes[stage])
                break
        body_file = run / "body" / f"{scene.frame:06d}.json"
        fitted = read_frame_bodies(RunLayout(run), scene.frame) if body_file.is_file() else {}
        people = sum(body.fitted for body in fitted.values())
        summary[scene.name] = {"rc": codes, "people": people}
        logger.info("%s: stages %s, %d people fitted", scene.name, codes, people)
    return summary


def contact_sheet(scenes, report: Path, path: Path, method: str = "ours", regime: str = "oracle") -> Path:
    """One row per category (its first scene): the first view, the ground truth and `method`'s meshes of
    `regime` drawn by this project's rasterizer from that camera (grey, headlight), 192 px tiles."""
    import cv2
    import numpy as np

    from multihuman_eval.benchmark import load_scene
    from multihuman_eval.runner import mesh_path
    from render import Mesh, RenderSettings, load_mesh, render

    rows, seen = [], set()
    for scene in scenes:
        if scene.category in seen:
            continue
        seen.add(scene.category)
        data = load_scene(scene)
        camera = data.cameras[0]
        grey = lambda mesh: Mesh(mesh.vertices, mesh.faces, colors=np.full((len(mesh.vertices), 3), 0.8))  # noqa: E731
        truth = [grey(m) for m in data.gt_meshes.values()]
        paths = [mesh_path(report / regime, method, scene, pid) for pid in data.person_ids]
        ours = [grey(load_mesh(p)) for p in paths if p.is_file()]
        tiles = [data.images[0]]
        for meshes in (truth, ours):
            tiles.append(render(meshes, [camera], RenderSettings(background=(1.0, 1.0, 1.0))).rgb[0] if meshes
                         else np.ones_like(data.images[0]))  # fmt: skip
        row = np.hstack([cv2.resize(np.asarray(t, np.float32), (192, 192), interpolation=cv2.INTER_AREA) for t in tiles])
        cv2.putText(row, scene.category, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (1.0, 1.0, 1.0), 1)
        rows.append(row)
    sheet = (np.vstack(rows)[..., ::-1] * 255 + 0.5).astype(np.uint8)
    cv2.imwrite(str(path), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return path


def main() -> None:
    from implicit.reconstruct import ReconstructionConfig
    from multihuman_eval.benchmark import discover_scenes
    from multihuman_eval.independent_scenes import write_independent_set
    from multihuman_eval.methods import MethodConfig, build_methods
    from multihuman_eval.regimes import REGIMES, regime_tables, run_regimes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("/work/cache/independent"))
    parser.add_argument("--scenes-per-category", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resolution", type=int, default=128, help="grid samples along a person's longest side")
    parser.add_argument("--methods", default="ours,visual-hull,body-only")
    parser.add_argument("--regimes", default=",".join(REGIMES))
    parser.add_argument("--only-scenes", action="store_true", help="write the scenes, evaluate nothing")
    parser.add_argument("--sheet", action="store_true", help=f"also write {SHEET.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.out.resolve().is_relative_to(ROOT):
        parser.error(f"{args.out}: expected a folder outside the repository ({ROOT})")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    timings = {}
    start = time.perf_counter()
    write_independent_set(args.out / "bench", args.scenes_per_category, args.seed)
    timings["scenes"] = time.perf_counter() - start
    if args.only_scenes:
        return
    scenes = discover_scenes(args.out / "bench")
    regimes = [r.strip() for r in args.regimes.split(",")]
    start = time.perf_counter()
    if any(r != "oracle" for r in regimes):
        found = prepare_runs(scenes, args.out / "runs")
        print({name: f"{s['people']} fitted, exit codes {s['rc']}" for name, s in found.items()})
    timings["keypoints, body, segment"] = time.perf_counter() - start
    config = MethodConfig(ReconstructionConfig(resolution=args.resolution))
    start = time.perf_counter()
    results = run_regimes(scenes, build_methods(args.methods, config), args.out / "runs", args.out / "report",
                          config.describe(), regimes)  # fmt: skip
    timings["methods and metrics"] = time.perf_counter() - start
    text = regime_tables(results, args.out / "report")
    text += "\nWall time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()) + "\n"
    (args.out / "tables.md").write_text(text)
    print(text)
    if args.sheet:
        print("wrote", contact_sheet(scenes, args.out / "report", SHEET))


if __name__ == "__main__":
    main()
