"""`capture reconstruct`: one command from a calibrated capture to per-person and scene meshes, with a report.

Stages (each resumable; a rerun skips finished work unless --force): 2D keypoints (only if the capture has none)
-> body -> segmentation -> per-person implicit reconstruction -> temporal fusion -> scene meshes -> report.
docs/pipeline.md describes the outputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from capture.commands import accept_frame_ranges, add_neighbour_margin_argument, neighbour_margin_setting


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconstruct", help="rig + images -> per-person meshes, scene meshes, run.json and an HTML report (resumable)"
    )
    parser.add_argument("--rig", required=True, type=Path, help="rig.yaml of the capture (with a capture: section)")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: <capture folder>/run)")
    parser.add_argument("--frames", default=None, help="START:STOP[:STEP] (default: the rig's frame range)")
    accept_frame_ranges(parser)
    parser.add_argument("--people", default=None, help="comma-separated track ids to reconstruct (default: everyone)")
    parser.add_argument("--resolution", type=int, default=256, help="grid samples along a person's longest side (default: 256)")
    parser.add_argument("--model", default="small", help="network weights: small, full or a checkpoint path (default: small)")
    parser.add_argument("--method", default=None, choices=("network", "visual-hull"),
                        help="default: network when its weights exist, else the visual hull (said so in the output)")  # fmt: skip
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="torch device of the network")
    add_neighbour_margin_argument(parser)
    parser.add_argument("--executor", default="local", choices=("local", "ray"), help="where person-frames run")
    parser.add_argument("--workers", type=int, default=1, help="parallel person-frames (local: 1 = this process)")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: a local Ray)")
    parser.add_argument("--no-fusion", action="store_true", help="skip temporal fusion (scene meshes from RUN/meshes)")
    parser.add_argument("--keypoint-format", default=None, choices=("openpose", "easymocap", "synthetic"),
                        help="2D keypoint files' format (default: the rig's)")  # fmt: skip
    parser.add_argument("--layout", default=None, help="keypoint layout of OpenPose files (default: named in the files)")
    parser.add_argument("--fit-iterations", type=int, default=60, help="L-BFGS iterations of the body fit (default: 60)")
    parser.add_argument("--report-frames", type=int, default=10, help="frames drawn in the report (default: 10)")
    parser.add_argument("--force", action="store_true", help="redo every stage's finished work")
    parser.set_defaults(func=run_reconstruct)


def _people(text: str | None) -> tuple[int, ...] | None:
    from capture.cli import UserFacingError

    if text is None:
        return None
    try:
        return tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise UserFacingError(f"--people: expected comma-separated track ids like 0,2, got {text!r}") from None


def format_summary(result) -> str:
    """The few lines printed at the end: people, frames, time per stage, where the outputs are."""
    frames = result.frames
    lines = [
        f"reconstructed {len(result.people)} people (ids {result.people}) in {len(frames)} frames "
        f"({frames[0]}..{frames[-1]}); method {result.method}: {result.method_note}",
        "  " + ", ".join(f"{name} {record.seconds:.1f} s" + ("" if record.status in ("done",) else f" ({record.status})")
                         for name, record in result.stages.items())  # fmt: skip
        + f"; total {result.total_seconds:.1f} s",
        f"  meshes: {result.run_dir / 'meshes'}" + (f", fused: {result.run_dir / 'fused'}"
                                                   if result.stages.get("fusion") and result.stages["fusion"].status != "off" else ""),  # fmt: skip
        f"  scene meshes: {result.run_dir / 'scene'} ({len(result.scene_meshes)} frames)",
        f"  report: {result.report}; record: {result.run_dir / 'run.json'}",
    ]
    return "\n".join(lines)


def config_from_args(args: argparse.Namespace):
    """The ReconstructConfig of the parsed options."""
    from capture.pipeline import ReconstructConfig

    return ReconstructConfig(
        rig=args.rig, out=args.out or args.rig.parent / "run", frames=args.frames, people=_people(args.people),
        resolution=args.resolution, model=args.model, method=args.method, device=args.device, executor=args.executor,
        workers=args.workers, ray_address=args.ray_address, fusion=not args.no_fusion, force=args.force,
        keypoint_format=args.keypoint_format, layout=args.layout, fit_iterations=args.fit_iterations,
        report_frames=args.report_frames, **neighbour_margin_setting(args),
    )  # fmt: skip


def run_reconstruct(args: argparse.Namespace) -> int:
    from body.errors import BodyModelError
    from capture.cli import UserFacingError
    from capture.pipeline import PipelineError, reconstruct

    config = config_from_args(args)
    try:
        result = reconstruct(config)
    except (PipelineError, BodyModelError) as error:
        raise UserFacingError(str(error)) from error
    print(format_summary(result))
    return 0
