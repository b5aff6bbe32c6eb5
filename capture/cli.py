"""The `capture` command line: `capture --help` lists the subcommands.

Each subcommand lives in `capture.commands.<name>` and exposes `register(subparsers)`, which adds its parser
and sets `func` (called with the parsed arguments, returns the exit code). Modules are imported only when
the CLI starts, so a subcommand's heavy imports belong inside its `func`.

Exit codes: 0 done, 2 a user-facing error (one line `capture <command>: error: ...`) or a usage error (no
command: the help on stderr), 130 interrupted by Ctrl-C (one line `capture <command>: interrupted...`).
Commands check their outputs before working: `check_output_folder` / `check_output_file`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import tempfile
from pathlib import Path

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


INTERRUPTED_EXIT_CODE = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""


class UserFacingError(Exception):
    """An error whose message is complete for the user: printed without a traceback, exit code 2."""


def _writable_folder(path: Path, option: str, target: Path) -> None:
    """UserFacingError unless `path` (or, when it does not exist yet, its nearest existing parent) is a folder in
    which a file can be created; `target` is what the message names."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "it is" if existing == target else f"{existing} is"
        raise UserFacingError(f"{option} {target}: expected a folder to write into, but {where} a file; "
                              f"choose another {option}")  # fmt: skip
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise UserFacingError(f"{option} {target}: cannot write into {existing} ({error.strerror or error}); "
                              f"choose another {option}") from None  # fmt: skip


def check_output_folder(path: str | Path, option: str = "--out") -> Path:
    """Before any work: `path` is an existing folder this process can write into, or can be created (its nearest
    existing parent is a writable folder). Creates nothing. Returns `path`; UserFacingError naming `option` and the
    path otherwise (an existing file, a parent that is a file, no permission, a read-only file system)."""
    path = Path(path)
    _writable_folder(path, option, path)
    return path


def check_output_file(path: str | Path, option: str = "--out") -> Path:
    """Before any work: `path` can be written as a file (it is not a folder, and its folder is writable or can be
    created). Creates nothing. Returns `path`; UserFacingError naming `option` and the path otherwise."""
    path = Path(path)
    if path.is_dir():
        raise UserFacingError(f"{option} {path}: expected a file to write, but it is a folder; choose a file name")
    _writable_folder(path.parent, option, path)
    return path


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that shows every option's default: ``(default: X)`` is appended unless the help already names its
    default, the option is an on/off flag, or it has no default (None)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        if "(default" in text or "default:" in text or flag or action.default in (None, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Give `parser` and every parser below it the DefaultsHelpFormatter."""
    parser.formatter_class = DefaultsHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _show_defaults(child)


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
    _show_defaults(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from calibration.errors import RigError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserFacingError, RigError, FileNotFoundError) as error:
        print(f"capture {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:  # Ctrl-C: one line, no traceback; the command says what was kept
        detail = f"; {interrupt}" if str(interrupt) else ""
        print(f"capture {args.command}: interrupted{detail}", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
