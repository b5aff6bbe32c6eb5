"""`capture segment`: per-person label maps of every view from the fitted bodies (RUN/body/ -> RUN/masks/).

Foreground source: `--background` (empty-scene plates) or `--chroma` if given, else the capture's masks if
the rig names them, else GrabCut seeded by the projected bodies; the choice is recorded in
RUN/masks/segmentation.json. Encoding of the outputs: docs/segmentation.md.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from calibration.run_layout import RunLayout
from capture.commands import add_frames_argument

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment", help="split each view's foreground into people with the fitted bodies (RUN/masks/<cam>/<frame>.png)"
    )
    parser.add_argument("--rig", required=True, type=Path, help="rig.yaml of the capture (images/videos, optional masks)")
    parser.add_argument("--run", required=True, type=Path, help="run folder with body/ from `capture body`")
    add_frames_argument(parser, "frames to segment (default: every frame of RUN/body/)")
    parser.add_argument(
        "--background", default=None,
        help="empty-scene plates: a folder with <cam>.png or <cam>/ of images (median), or a frame number",
    )  # fmt: skip
    parser.add_argument("--chroma", default=None, help="chroma key colour R,G,B (0-255), e.g. 0,177,64")
    parser.add_argument(
        "--overlay-frame", type=int, default=None, help="frame drawn to RUN/report/segmentation/ (default: the first)"
    )
    parser.add_argument("--force", action="store_true", help="redo frames whose label maps already exist")
    parser.set_defaults(func=run_segment)


def _parse_chroma(text: str) -> tuple[int, int, int]:
    from capture.cli import UserFacingError

    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise UserFacingError(f"--chroma: expected R,G,B with integers in 0-255, got {text!r}")
    return values


def run_segment(args: argparse.Namespace) -> int:
    from body.detection.errors import DetectionError
    from body.errors import BodyModelError
    from calibration.rig_file import load_rig
    from capture.cli import UserFacingError
    from segmentation import SegmentationError, segment_run

    rig = load_rig(args.rig)
    chroma = _parse_chroma(args.chroma) if args.chroma else None
    frames = args.frames
    if frames is not None:  # frames beyond the body stage's are named, not skipped
        from calibration.rig import select_frames

        select_frames(frames, RunLayout(args.run).body_frames(), f"the body stage ({args.run / 'body'})")
    try:
        summary = segment_run(rig, args.run, frames=frames, background=args.background, chroma=chroma,
                              overlay_frame=args.overlay_frame, force=args.force)  # fmt: skip
    except (SegmentationError, BodyModelError, DetectionError) as error:
        raise UserFacingError(str(error)) from error
    print(
        f"segment: source {summary.source}; {len(summary.done)} frame(s) segmented, {len(summary.skipped)} skipped "
        f"(already done); {summary.seconds_per_frame:.2f} s/frame; masks in {args.run / 'masks'}"
    )
    for path in summary.overlays:
        print(f"  overlay {path}")
    return 0
