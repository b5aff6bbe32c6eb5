"""`capture keypoints`: detect everyone's 2D keypoints in every view of a capture, offline (BlazePose).

Writes ``RUN/keypoints/<camera>/<frame:06d>.json`` (OpenPose JSON, layout body25 or coco17) and an overlay
``RUN/report/keypoints/<camera>_<frame:06d>.png`` for one frame per camera. Frames already written are skipped
unless ``--force``. Tiles sized from the rig and re-detection where other views triangulated someone are on by
default (``body.detection.stage``); ``RUN/report/keypoints/coverage.json`` gives per view and frame the people expected
and found.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from calibration.progress import ProgressLog
from body.detection.registry import DETECTOR_LAYOUTS
from capture.commands import add_frames_argument

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "keypoints", help="detect 2D keypoints of every person in every view (offline BlazePose, OpenPose JSON)"
    )
    parser.add_argument("--rig", required=True, type=Path, help="rig.yaml with a capture section (images or videos)")
    parser.add_argument(
        "--out", required=True, type=Path, help="run folder; writes RUN/keypoints/<camera>/<frame>.json"
    )
    parser.add_argument("--detector", default="blazepose", help="detector backend (default: blazepose)")
    parser.add_argument("--layout", default="body25", choices=DETECTOR_LAYOUTS, help="keypoint layout written")
    parser.add_argument("--cameras", nargs="+", default=None, help="only these cameras (default: all)")
    add_frames_argument(parser, "frames to detect on instead of the rig's frame range")
    parser.add_argument("--max-people", type=int, default=6, help="most people per image (default: 6)")
    parser.add_argument(
        "--tile-size", type=int, default=None,
        help="also detect in square tiles of this side, px (small people); default: per view, twice the height of a "
        "1.8 m person at the capture volume's centre; 0: off",
    )  # fmt: skip
    parser.add_argument(
        "--no-redetect", action="store_true",
        help="do not detect again where a person triangulated from other views (or the previous frame) was missed",
    )  # fmt: skip
    parser.add_argument(
        "--overlay-frame", type=int, default=None, help="frame drawn to RUN/report/keypoints/ (default: the first)"
    )
    parser.add_argument("--force", action="store_true", help="redo frames whose JSON already exists")
    parser.set_defaults(func=run_keypoints)


def config_from_args(args: argparse.Namespace):
    """The KeypointStageConfig of the parsed options."""
    from body.detection.stage import KeypointStageConfig

    return KeypointStageConfig(detector=args.detector, layout=args.layout, max_people=args.max_people,
                               tile_size=None if args.tile_size is None else max(args.tile_size, 0),
                               redetect=not args.no_redetect, overlay_frame=args.overlay_frame, force=args.force)  # fmt: skip


def run_keypoints(args: argparse.Namespace) -> int:
    from calibration.rig_file import load_rig
    from capture.cli import UserFacingError

    rig = load_rig(args.rig)
    if args.max_people < 1:
        raise UserFacingError(f"--max-people: expected >= 1, got {args.max_people}")
    cameras = args.cameras or rig.names
    unknown = sorted(set(cameras) - set(rig.names))
    if unknown:
        raise UserFacingError(f"--cameras: unknown camera(s) {unknown}; the rig has {rig.names}")
    detect_keypoints(rig, args.out, cameras, args.frames, config_from_args(args))
    return 0


def detect_keypoints(rig, out: Path, cameras: list[str], frames, config) -> dict:
    """Run the keypoint stage (``body.detection.stage.run_keypoint_stage``) on the frames --frames selects
    (FrameRange or None: the rig's range), with a progress bar; prints what it wrote and the people found per view
    (of those triangulated that project into it). Returns the stage's coverage. Raises UserFacingError."""
    from body.detection import DetectionError
    from body.detection.stage import run_keypoint_stage, select_camera_frames
    from capture.cli import UserFacingError

    if rig.layout is None or (rig.layout.images is None and rig.layout.videos is None):
        raise UserFacingError(f"{rig.source}: the rig has no capture section with 'images' or 'videos' to detect on")
    out_dir = out / "keypoints"
    try:
        selected = select_camera_frames(rig, cameras, frames)
        progress = ProgressLog("keypoints", sum(map(len, selected.values())), "images")
        summary = run_keypoint_stage(rig, out, selected, config, progress=progress.step)
    except DetectionError as error:
        raise UserFacingError(str(error)) from error
    for png in summary.overlays:
        print(f"overlay: {png}")
    wanted = len(set().union(*selected.values()))  # every selected frame is in some view
    lacking = [f"{camera} ({wanted - len(got)})" for camera, got in selected.items() if len(got) < wanted]
    print(f"wrote {summary.written} keypoint files to {out_dir} ({summary.skipped} already there, skipped)"
          + (f"; views lacking frames: {', '.join(lacking)} (see the warnings)" if lacking else ""))  # fmt: skip
    totals = summary.totals()
    if totals:
        shown = ", ".join(f"{camera} {found}/{expected}" for camera, (found, expected) in totals.items())
        print(f"people found / expected per view (triangulated from >= 2 views, projected): {shown}; per frame in "
              f"{out / 'report' / 'keypoints' / 'coverage.json'}")  # fmt: skip
    return summary.coverage
