"""The independent held-out set (multihuman_eval.independent_scenes, no `synth`) in three regimes.

    .venv/bin/python bench/bench_independent.py [OUT] [--scenes-per-category 2] [--seed 0] [--resolution 128]
        [--methods ours,visual-hull,body-only] [--regimes oracle,fitted,images] [--only-scenes]

OUT (default /work/cache/independent, never inside the repository) gets bench/ (the scenes, `capture eval
--bench` reads it unchanged), runs/ (capture keypoints, body and segment per scene) and report/<regime>/ (the
runner's results and meshes); the tables (multihuman_eval.regimes.regime_tables) are printed and written to
OUT/tables.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from implicit.reconstruct import ReconstructionConfig
    from multihuman_eval.benchmark import discover_scenes
    from multihuman_eval.independent_scenes import write_independent_set
    from multihuman_eval.methods import MethodConfig, build_methods
    from multihuman_eval.regimes import REGIMES, prepare_runs, regime_tables, run_regimes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("/work/cache/independent"))
    parser.add_argument("--scenes-per-category", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resolution", type=int, default=128, help="grid samples along a person's longest side")
    parser.add_argument("--methods", default="ours,visual-hull,body-only")
    parser.add_argument("--regimes", default=",".join(REGIMES))
    parser.add_argument("--only-scenes", action="store_true", help="write the scenes, evaluate nothing")
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


if __name__ == "__main__":
    main()
