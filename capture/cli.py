"""The `capture` command line: `capture --help` lists the subcommands.

Each subcommand lives in `capture.commands.<name>` and exposes `register(subparsers)`, which adds its parser
and sets `func` (called with the parsed arguments, returns the exit code). Modules are imported only when
the CLI starts, so a subcommand's heavy imports belong inside its `func`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from capture import __version__

COMMAND_MODULES = (
    "rig",
    "calibrate",
    "synth",
    "keypoints",
    "body",
    "segment",
    "train",
    "reconstruct",
    "fuse",
    "eval",
    "view",
    "demo",
)


class UserFacingError(Exception):
    """An error whose message is complete for the user: printed without a traceback, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capture",
        description="Multi-view volumetric capture of several people (DeepMultiCap pipeline).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"capture.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from calibration.errors import RigError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except (UserFacingError, RigError, FileNotFoundError) as error:
        print(f"capture {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
