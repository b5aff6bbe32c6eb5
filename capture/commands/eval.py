"""`capture eval`: run methods on a benchmark and write the MultiHuman-style report (docs/evaluation.md)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from capture.commands import add_neighbour_margin_argument, neighbour_margin_setting


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score reconstruction methods on a benchmark (Chamfer / P2S per category, Table 1 style report)",
        description="Runs each method on each scene of a benchmark (resumable), scores every person against "
        "their own ground truth (scaled to 1.80 m) and writes REPORT/scenes.csv, table.md, bars.png and "
        "worst/<method>/*.png.",
    )
    parser.add_argument("--bench", required=True, type=Path,
                        help="a `capture synth-bench` folder, or a MultiHuman release (see --multihuman)")  # fmt: skip
    parser.add_argument("--methods", default="visual-hull,body-only",
                        help="comma-separated: visual-hull, body-only, ours, ours:<ablation> (e.g. ours:mean_pooling)")  # fmt: skip
    parser.add_argument("--out", required=True, type=Path, help="report folder (results are cached there)")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="[METHOD=]PATH",
                        help="network checkpoint for 'ours' (PATH) or for a named method (ours:mean_pooling=PATH); "
                        "repeatable; default: the shipped implicit/weights/")  # fmt: skip
    parser.add_argument("--resolution", type=int, default=256, help="grid samples along each person's longest side")
    parser.add_argument("--samples", type=int, default=10_000, help="surface samples per mesh for the metrics")
    parser.add_argument("--categories", default=None, help="comma-separated categories to run (default: all)")
    parser.add_argument("--body-runs", type=Path, default=None,
                        help="use fitted bodies from BODY_RUNS/<category>/<scene>/body/ instead of ground truth")  # fmt: skip
    parser.add_argument("--multihuman", action="store_true",
                        help="--bench is a MultiHuman release: render its scenes into OUT/inputs first (6 views)")  # fmt: skip
    parser.add_argument("--worst", type=int, default=3, help="error renders of the worst scenes per method")
    add_neighbour_margin_argument(parser)
    parser.add_argument("--device", default="cpu", help="torch device of the network (cpu, cuda)")
    parser.add_argument("--force", action="store_true", help="recompute cached scenes")
    parser.set_defaults(func=run_eval)


def _checkpoints(values: list[str]) -> dict[str, Path]:
    from capture.cli import UserFacingError

    result = {}
    for value in values:
        name, _, path = value.rpartition("=") if "=" in value else ("ours", "", value)
        if not Path(path).is_file():
            raise UserFacingError(f"--checkpoint {value}: expected a checkpoint file, found none at {path}")
        result[name] = Path(path)
    return result


def command_line(args: argparse.Namespace) -> str:
    """The `capture eval` command that reproduces these results (for the report)."""
    parts = ["capture", "eval", "--bench", str(args.bench), "--methods", args.methods, "--out", str(args.out)]
    parts += [f"--checkpoint={c}" for c in args.checkpoint]
    for flag, value, default in (("--resolution", args.resolution, 256), ("--samples", args.samples, 10_000),
                                 ("--categories", args.categories, None), ("--body-runs", args.body_runs, None)):  # fmt: skip
        if value != default:
            parts += [flag, str(value)]
    if hasattr(args, "neighbour_margin"):
        parts += ["--neighbour-margin", "off" if args.neighbour_margin is None else str(args.neighbour_margin)]
    parts += ["--multihuman"] if args.multihuman else []
    return " ".join(shlex.quote(p) for p in parts)


def run_eval(args: argparse.Namespace) -> int:
    from capture.cli import UserFacingError, check_output_folder
    from implicit.reconstruct import ReconstructionConfig
    from implicit.training import CheckpointError
    from multihuman_eval.benchmark import BenchmarkError, discover_scenes, prepare_multihuman
    from multihuman_eval.methods import MethodConfig, MethodError, build_methods
    from multihuman_eval.metrics import SurfaceMetricsConfig
    from multihuman_eval.report import category_table, markdown_table, write_report
    from multihuman_eval.runner import run_benchmark

    check_output_folder(args.out)
    categories = args.categories.split(",") if args.categories else None
    reconstruction = ReconstructionConfig(resolution=args.resolution, **neighbour_margin_setting(args))
    config = MethodConfig(reconstruction, checkpoints=_checkpoints(args.checkpoint), device=args.device)
    try:
        if args.multihuman:
            prepare_multihuman(args.bench, args.out / "inputs")
            scenes = discover_scenes(args.out / "inputs", categories)
        else:
            scenes = discover_scenes(args.bench, categories)
        methods = build_methods(args.methods, config)
        results = run_benchmark(scenes, methods, args.out, config.describe(),
                                SurfaceMetricsConfig(samples_per_mesh=args.samples), args.force, args.body_runs)  # fmt: skip
    except (BenchmarkError, MethodError, CheckpointError) as error:
        raise UserFacingError(str(error)) from None
    written = write_report(results, args.out, scenes, args.worst, command_line(args))
    print(markdown_table(category_table(results)))
    print(f"wrote {written['table']}, {written['csv']}, {written['bars']} and {len(written) - 3} error render(s)")
    return 0
