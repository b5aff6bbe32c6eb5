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
    parser.add_argument("--layout", default="body25", choices=("body25", "coco17"), help="keypoint layout written")
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


def _selected_frames(rig, cameras: list[str], frames) -> dict[str, list[int]]:
    """Per camera, its frames on disk that --frames (else the rig's range) selects. Frames outside every view's
    data are a UserFacingError; a frame missing from some views only is logged as a warning naming the camera
    and frames (the other views are still detected; `capture body` flags the frame)."""
    from body.detection.frames import camera_frame_numbers
    from calibration.rig import FrameRange
    from capture.commands import select_frames

    on_disk = {camera: camera_frame_numbers(rig.layout, camera, FrameRange()) for camera in cameras}
    source = f"the capture's {'images' if rig.layout.images is not None else 'videos'} ({rig.source})"
    available = sorted(set().union(*on_disk.values()))
    if frames is None:  # the rig's own range, bounded by the data
        in_range = set(rig.layout.frames.frames(available[-1] + 1 if available else 0))
        wanted = [frame for frame in available if frame in in_range]
    else:
        wanted = select_frames(frames, available, source)
    selected = {}
    for camera, available in on_disk.items():
        have = set(available)
        selected[camera] = [frame for frame in wanted if frame in have]
        missing = [frame for frame in wanted if frame not in have]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            logger.warning("camera %s: no image for %d of the %d selected frames (%s) in %s; the other views' "
                           "keypoints are still written", camera, len(missing), len(wanted), shown,
                           rig.layout.image_dir(camera) or rig.layout.video_file(camera))  # fmt: skip
    return selected


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
    from body.detection.stage import KeypointStageConfig

    config = KeypointStageConfig(detector=args.detector, layout=args.layout, max_people=args.max_people,
                                 tile_size=None if args.tile_size is None else max(args.tile_size, 0),
                                 redetect=not args.no_redetect, overlay_frame=args.overlay_frame, force=args.force)  # fmt: skip
    detect_keypoints(rig, args.out, cameras, args.frames, config)
    return 0


def detect_keypoints(rig, out: Path, cameras: list[str], frames, config) -> dict:
    """Run the keypoint stage (``body.detection.stage.run_keypoint_stage``) on the frames --frames selects
    (FrameRange or None: the rig's range), with a progress bar; prints what it wrote and the people found per view
    (of those triangulated that project into it). Returns the stage's coverage. Raises UserFacingError."""
    from body.detection import DetectionError
    from body.detection.stage import run_keypoint_stage
    from capture.cli import UserFacingError

    if rig.layout is None or (rig.layout.images is None and rig.layout.videos is None):
        raise UserFacingError(f"{rig.source}: the rig has no capture section with 'images' or 'videos' to detect on")
    out_dir = out / "keypoints"
    try:
        selected = _selected_frames(rig, cameras, frames)
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
