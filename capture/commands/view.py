"""`capture view RUN`: the run's scene meshes and camera frusta in an Open3D window, or a headless screenshot."""

from __future__ import annotations

import argparse
from pathlib import Path

from calibration.run_layout import RunLayout


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "view", help="show a run's scene meshes and camera frusta (Open3D); --screenshot renders headless to a PNG"
    )
    parser.add_argument("run", type=Path, help="run folder of `capture reconstruct` (with scene/ and run.json)")
    parser.add_argument("--frame", type=int, default=None, help="frame to show first (default: the first)")
    parser.add_argument("--screenshot", type=Path, default=None,
                        help="render this frame offscreen to a PNG instead of opening a window (automatic without a display)")  # fmt: skip
    parser.add_argument("--size", default="960x720", help="screenshot size WIDTHxHEIGHT (default: 960x720)")
    parser.add_argument("--no-cameras", action="store_true", help="do not draw the camera frusta")
    parser.set_defaults(func=run_view)


SCREENSHOT_SIDE_PX = (16, 8192)
"""Accepted screenshot width and height, pixels (Open3D's offscreen renderer aborts far beyond)."""


def parse_size(text: str) -> tuple[int, int]:
    """--size 'WIDTHxHEIGHT' -> (width, height) inside SCREENSHOT_SIDE_PX; UserFacingError naming the flag."""
    from capture.cli import UserFacingError

    low, high = SCREENSHOT_SIDE_PX
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserFacingError(f"--size: expected WIDTHxHEIGHT like 960x720, got {text!r}") from None
    if not (low <= width <= high and low <= height <= high):
        raise UserFacingError(f"--size: expected width and height of {low}-{high} pixels, got {text!r}")
    return width, height


def _cameras(run: Path):
    import json

    from calibration.rig_file import load_rig

    record = RunLayout(run).record_file
    if not record.is_file():
        return None
    rig = json.loads(record.read_text(encoding="utf-8")).get("config", {}).get("rig")
    return list(load_rig(rig, check_paths=False)) if rig and Path(rig).is_file() else None


def run_view(args: argparse.Namespace) -> int:
    from capture.cli import UserFacingError
    from capture.viewer import (
        ViewerError,
        frame_geometry,
        frame_view_of_run,
        has_display,
        interactive,
        scene_frames,
        scene_mesh,  # fmt: skip
        screenshot,
    )

    width, height = parse_size(args.size)
    frames = scene_frames(args.run)
    if not frames:
        raise UserFacingError(f"{args.run / 'scene'}: no scene meshes; run `capture reconstruct --out {args.run}` first")
    frame = frames[0] if args.frame is None else args.frame
    rig_cameras = _cameras(args.run)
    cameras = None if args.no_cameras else rig_cameras
    try:
        view = frame_view_of_run(args.run, frame, scene_mesh(args.run, frame), rig_cameras)  # frames the people
        if args.screenshot is None and has_display():
            interactive(args.run, frames, frame, cameras, view)
            return 0
        path = args.screenshot or RunLayout(args.run).report_dir / f"view_{frame:06d}.png"
        screenshot(frame_geometry(args.run, frame, cameras), path, (width, height), view)
    except ViewerError as error:
        raise UserFacingError(str(error)) from error
    print(f"no display: rendered offscreen instead of a window -> {path}" if args.screenshot is None else f"wrote {path}")
    return 0
