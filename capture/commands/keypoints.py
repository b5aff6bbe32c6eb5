"""`capture keypoints`: detect everyone's 2D keypoints in every view of a capture, offline (BlazePose).

Writes ``RUN/keypoints/<camera>/<frame:06d>.json`` (OpenPose JSON, layout body25 or coco17) and an overlay
``RUN/report/keypoints/<camera>_<frame:06d>.png`` for one frame per camera. Frames already written are skipped
unless ``--force``.
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
        "--tile-size", type=int, default=0, help="also detect in square tiles of this side, px (small people); 0: off"
    )
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
    import cv2

    from body.detection import CropPassConfig, DetectionError, create_detector, detect_people, read_openpose_json
    from body.detection.frames import conform_to_camera, read_camera_frames
    from body.detection.openpose_json import write_openpose_json
    from body.detection.overlay import draw_people
    from calibration.atomic import write_png
    from calibration.rig_file import load_rig
    from capture.cli import UserFacingError

    rig = load_rig(args.rig)
    if rig.layout is None or (rig.layout.images is None and rig.layout.videos is None):
        raise UserFacingError(f"{args.rig}: the rig has no capture section with 'images' or 'videos' to detect on")
    if args.max_people < 1:
        raise UserFacingError(f"--max-people: expected >= 1, got {args.max_people}")
    cameras = args.cameras or rig.names
    unknown = sorted(set(cameras) - set(rig.names))
    if unknown:
        raise UserFacingError(f"--cameras: unknown camera(s) {unknown}; the rig has {rig.names}")
    config = CropPassConfig(tile_size=max(args.tile_size, 0))
    out = args.out / "keypoints"
    try:
        selected = _selected_frames(rig, cameras, args.frames)
        plans = {}
        for camera, frames in selected.items():
            overlay = args.overlay_frame if args.overlay_frame is not None else (frames[0] if frames else None)
            overlay_png = args.out / "report" / "keypoints" / f"{camera}_{overlay or 0:06d}.png"
            todo = [f for f in frames if args.force or not (out / camera / f"{f:06d}.json").exists()]
            if overlay in frames and overlay not in todo and not overlay_png.exists():
                todo = sorted(todo + [overlay])
            plans[camera] = (todo, overlay, overlay_png, len(frames))
        progress = ProgressLog("keypoints", sum(len(todo) for todo, *_ in plans.values()), "images")
        written = 0
        with create_detector(args.detector, layout=args.layout, max_people=args.max_people) as detector:
            for camera, (todo, overlay, overlay_png, _) in plans.items():
                for frame, image in read_camera_frames(rig.layout, camera, todo):
                    image = conform_to_camera(image, rig[camera], frame, args.rig)
                    path = out / camera / f"{frame:06d}.json"
                    if args.force or not path.exists():
                        people = detect_people(detector, image, None, config)
                        write_openpose_json(path, people, detector=detector.name)
                        written += 1
                    else:
                        people = read_openpose_json(path)
                    if frame == overlay:
                        write_png(overlay_png, cv2.cvtColor(draw_people(image, people), cv2.COLOR_RGB2BGR))
                        print(f"overlay: {overlay_png}")
                    progress.step(f"{camera} frame {frame}")
    except DetectionError as error:
        raise UserFacingError(str(error)) from error
    skipped = sum(total for *_, total in plans.values()) - written
    wanted = len(set().union(*selected.values()))  # every selected frame is in some view
    lacking = [f"{camera} ({wanted - total})" for camera, (*_, total) in plans.items() if total < wanted]
    print(f"wrote {written} keypoint files to {out} ({skipped} already there, skipped)"
          + (f"; views lacking frames: {', '.join(lacking)} (see the warnings)" if lacking else ""))  # fmt: skip
    return 0
