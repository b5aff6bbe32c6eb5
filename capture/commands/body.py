"""`capture body`: parse the options into a BodyStageConfig and run `body.stage.run_body_stage`.

Writes ``RUN/body/<frame:06d>.json`` (docs/body-output.md) and, for one frame, an overlay per view of the fitted
bodies and triangulated skeletons: ``RUN/report/body/<camera>_<frame:06d>.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from capture.commands import add_frames_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "body", help="associate 2D keypoints across views, track people, fit a body model over the sequence"
    )
    parser.add_argument(
        "--rig", required=True, type=Path, help="rig.yaml (cameras; capture.keypoints if no --keypoints)"
    )
    parser.add_argument("--out", required=True, type=Path, help="run folder; writes RUN/body/<frame:06d>.json")
    parser.add_argument(
        "--keypoints", type=Path, default=None, help="keypoint folder with one sub-folder per camera (default: rig's)"
    )
    parser.add_argument(
        "--keypoint-format", default=None, choices=("openpose", "easymocap", "synthetic"),
        help="file format (default: the rig's capture.keypoint_format, else openpose)",
    )  # fmt: skip
    parser.add_argument(
        "--layout", default=None, help="keypoint layout of the files: body25, body25b, coco18, coco17, ... "
        "(default: the layout the files name, as this project's do; easymocap: body25; needed for OpenPose's own)",
    )  # fmt: skip
    parser.add_argument("--body-model", default="anny", choices=("anny", "smplx"), help="body model (default: anny)")
    parser.add_argument("--body-model-dir", default=None, help="SMPL-X model folder (or $MULTICAP_SMPLX_DIR)")
    add_frames_argument(parser, "frames to fit instead of the rig's frame range")
    parser.add_argument("--no-fit", action="store_true", help="only associate, triangulate and track (no body fit)")
    parser.add_argument("--fit-iterations", type=int, default=60, help="L-BFGS iterations of the full fit stage")
    parser.add_argument("--overlay-frame", type=int, default=None, help="frame drawn to RUN/report/body/ (default: "
                        "the first frame with the most people)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="rewrite frames whose JSON already exists")
    parser.set_defaults(func=run_body)


def config_from_args(args: argparse.Namespace):
    """The BodyStageConfig of the parsed options."""
    from body.stage import BodyStageConfig

    return BodyStageConfig(
        keypoints=args.keypoints, keypoint_format=args.keypoint_format, layout=args.layout,
        body_model=args.body_model, body_model_dir=args.body_model_dir, fit=not args.no_fit,
        fit_iterations=args.fit_iterations, overlay_frame=args.overlay_frame, force=args.force,
    )  # fmt: skip


def run_body(args: argparse.Namespace) -> int:
    from body.detection.errors import DetectionError
    from body.errors import BodyModelError, BodyStageError
    from body.stage import run_body_stage
    from calibration.rig_file import load_rig
    from calibration.run_layout import RunLayout
    from capture.cli import UserFacingError

    rig = load_rig(args.rig)
    run = RunLayout(args.out)
    try:
        summary = run_body_stage(rig, run, config_from_args(args), args.frames)
    except (BodyStageError, BodyModelError, DetectionError) as error:
        raise UserFacingError(str(error)) from error
    if not summary.written and not summary.overlays:
        print(f"all {len(summary.frames)} frames already in {run.body_dir}; nothing to do (--force to redo)")
        return 0
    print(f"wrote {len(summary.written)} frames to {run.body_dir} ({len(summary.skipped)} already there); "
          f"{len(summary.track_ids)} people; {summary.flagged} frames flagged with input problems (see each file's "
          f"'problems'); association {summary.association_fps:.1f} frames/s, fit {summary.fit_seconds:.1f} s")  # fmt: skip
    print(f"overlays: {summary.overlays[0].parent} ({len(summary.overlays)} views, frame {summary.overlay_frame})")
    return 0
