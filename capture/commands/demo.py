"""`capture demo`: the built-in demo (what `make demo` runs)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the built-in synthetic demo and report",
        description="Synthetic ring rig -> rig.yaml -> rig check -> noisy multi-view detections -> triangulation "
        "(plain and robust DLT) with errors against the truth. The full reconstruction demo replaces it as the "
        "pipeline's stages land.",
    )
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from capture.demo import DemoConfig, run_demo

    config = DemoConfig(seed=args.seed)
    result = run_demo(args.out, config)
    print()
    print(
        f"triangulated {result.points} points ({config.people} people x 17 points x {config.frames} frames) from "
        f"{config.views} views with {config.noise_px:g} px noise and view {config.corrupted_view} wrong by 40-120 px:"
    )
    print(f"  {'method':<12} {'mean (mm)':>10} {'median (mm)':>12}")
    print(f"  {'plain DLT':<12} {result.dlt_mean_mm:>10.1f} {result.dlt_median_mm:>12.1f}")
    print(f"  {'robust DLT':<12} {result.robust_mean_mm:>10.1f} {result.robust_median_mm:>12.1f}")
    print(f"  robust triangulation rejected {100 * result.robust_outlier_recall:.0f}% of the wrong view's observations")
    print(f"outputs: {args.out}/rig.yaml, {args.out}/rig_top.png, {args.out}/triangulation.json")
    return 0
