"""`capture demo`: the built-in demo (what `make demo` runs): a synthetic scene reconstructed and scored."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="synthesise a small multi-person scene, reconstruct it, print Chamfer / P2S against its ground truth",
        description="synth (clothed people, ring of cameras, ground truth) -> capture reconstruct (body, masks, "
        "per-person meshes, fusion, scene meshes, report), from the images alone and from synth's exact keypoints "
        "and masks (oracle inputs) -> Chamfer / P2S per person against the ground truth. "
        "A rerun reuses the capture and the finished stages.",
    )
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    parser.add_argument("--people", type=int, default=3, help="people in the scene (default: 3)")
    parser.add_argument("--views", type=int, default=6, help="cameras (default: 6)")
    parser.add_argument("--frames", type=int, default=3, help="frames, >= 3 (default: 3)")
    parser.add_argument("--size", type=int, default=256, help="image width and height, pixels (default: 256)")
    parser.add_argument("--resolution", type=int, default=128, help="grid samples along a person (default: 128)")
    parser.add_argument("--fit-iterations", type=int, default=30, help="body fit iterations (default: 30)")
    parser.add_argument("--method", default=None, choices=("network", "visual-hull"),
                        help="default: network when its weights are shipped, else the visual hull")  # fmt: skip
    parser.add_argument("--no-fusion", action="store_true", help="skip temporal fusion")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the scene (default: 0)")
    parser.add_argument("--oracle-only", action="store_true",
                        help="skip the reconstruction from the images alone (run only with synth's keypoints and masks)")  # fmt: skip
    parser.set_defaults(func=run)


def format_table(result) -> str:
    """The Chamfer / P2S table printed by the demo, one block per regime (inputs from images, oracle inputs)."""
    lines = [f"  {'inputs':<14} {'reconstruction':<20} {'Chamfer (cm)':>12} {'P2S (cm)':>9} {'person-frames':>14}"]
    lines += [f"  {row.regime:<14} {row.name:<20} {row.chamfer_cm:>12.2f} {row.p2s_cm:>9.2f} {row.person_frames:>14d}"
              for row in result.rows]  # fmt: skip
    for regime, means in result.per_person.items():
        lines.append(f"  per person, {regime} (final meshes, mean over frames): " + ", ".join(
            f"person {g}: {c:.2f} / {p:.2f}" for g, (c, p) in means.items()))  # fmt: skip
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from capture.cli import UserFacingError
    from capture.demo import DemoConfig, run_demo
    from capture.pipeline import PipelineError

    if args.frames < 3:
        raise UserFacingError(f"--frames: expected >= 3 (the demo shows temporal fusion over a 3-frame window), got {args.frames}")
    config = DemoConfig(people=args.people, views=args.views, frames=args.frames, size=args.size,
                        resolution=args.resolution, fit_iterations=args.fit_iterations, seed=args.seed,
                        method=args.method, fusion=not args.no_fusion, from_images=not args.oracle_only)  # fmt: skip
    try:
        result = run_demo(args.out, config)
    except PipelineError as error:
        raise UserFacingError(str(error)) from error
    print()
    print(f"{config.people} people, {config.views} views, {config.frames} frames at {config.size} px; "
          f"{result.method}: {result.method_note}")  # fmt: skip
    print("surface distances to the ground truth (scaled so each person is 1.80 m tall); inputs 'from images': "
          "keypoints detected (BlazePose) and people segmented (GrabCut) from the images; 'oracle inputs': synth's "
          "exact 2D keypoints and masks")  # fmt: skip
    print(format_table(result))
    for message in result.unmatched:
        print(f"  note: {message}")
    print(f"time: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items()))
    print(f"report: {result.report}")
    runs = [str(args.out / "run_images")] if config.from_images else []
    print(f"outputs: {', '.join(runs + [str(result.run_dir)])} (scene/, meshes/, fused/, run.json), "
          f"{args.out / 'evaluation.json'}")  # fmt: skip
    return 0
