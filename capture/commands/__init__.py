"""Subcommands of the `capture` CLI: one module per subcommand, each with `register(subparsers)`."""

from __future__ import annotations

import re
from pathlib import Path

_NUMBER_OR_FRAME_RANGE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d*:")
"""Arguments argparse must take as values, not options: negative numbers and frame ranges such as '-5:2'."""


def parse_frame_range(text: str):
    """'START:STOP[:STEP]' (empty parts: 0, open, 1) -> calibration.rig.FrameRange, the one --frames parser.

    Raises ValueError saying what was expected: integers, START >= 0, STOP > START, STEP >= 1.
    """
    from calibration.rig import FrameRange

    try:
        values = [int(part) if part.strip() else None for part in text.split(":")]
    except ValueError:
        values = []
    if not 1 <= len(values) <= 3:
        raise ValueError(f"expected START:STOP[:STEP] with integers, got {text!r}")
    start, stop, step = (values + [None, None])[:3]
    start, step = start if start is not None else 0, step if step is not None else 1
    if start < 0:
        raise ValueError(f"expected START >= 0 (frames are numbered from 0), got {text!r}")
    if step < 1:
        raise ValueError(f"expected STEP >= 1, got {text!r}")
    if stop is not None and stop <= start:
        raise ValueError(f"expected STOP > START (STOP is excluded), got {text!r}")
    return FrameRange(start, stop, step)


def frame_range_argument(text: str):
    """argparse `type=` for --frames: parse_frame_range with argparse's error (argparse names the flag)."""
    import argparse

    try:
        return parse_frame_range(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def accept_frame_ranges(parser) -> None:
    """Let `parser` take '-5:2' as an option's value (argparse would read an unknown option and say 'expected one
    argument'), so the frame parser can refuse it by name."""
    parser._negative_number_matcher = _NUMBER_OR_FRAME_RANGE


def add_frames_argument(parser, help: str) -> None:
    """--frames START:STOP[:STEP] (FrameRange or None), checked by parse_frame_range (a leading minus included)."""
    accept_frame_ranges(parser)
    parser.add_argument("--frames", type=frame_range_argument, default=None, metavar="START:STOP[:STEP]", help=help)


def check_output_dir(out: Path, force: bool, command: str) -> None:
    """capture.cli.check_output_folder (a writable folder), and refuse (UserFacingError naming the folder and
    --force) an existing, non-empty `out` unless `force`; what `force` then replaces is the command's business
    (only what it wrote there before)."""
    from capture.cli import UserFacingError, check_output_folder

    out = check_output_folder(out)
    if force or not out.is_dir() or not any(out.iterdir()):
        return
    raise UserFacingError(f"--out {out}: the folder is not empty; pass --force to replace what {command} wrote there "
                          "before, or choose another folder")  # fmt: skip


def add_neighbour_margin_argument(parser) -> None:
    """--neighbour-margin METRES|off; absent from the parsed arguments unless given (the library default holds)."""
    import argparse

    def margin(text: str) -> float | None:
        if text == "off":
            return None
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value >= 0:
            raise argparse.ArgumentTypeError(f"expected metres >= 0 or 'off', got {text!r}")
        return value

    parser.add_argument("--neighbour-margin", type=margin, default=argparse.SUPPRESS, metavar="METRES|off",
                        help="the network's occupancy is 0 where another person's fitted body is this much nearer "
                        "than the person's own (default 0.03; implicit.neighbours); off: no such rule")  # fmt: skip


def neighbour_margin_setting(args) -> dict:
    """{'neighbour_margin_m': value} when --neighbour-margin was given, else {} (keyword for the run's config)."""
    return {"neighbour_margin_m": args.neighbour_margin} if hasattr(args, "neighbour_margin") else {}
