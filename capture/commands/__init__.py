"""Subcommands of the `capture` CLI: one module per subcommand, each with `register(subparsers)`."""


def frame_range_argument(text: str):
    """argparse `type=` for --frames: 'START:STOP[:STEP]' -> calibration.rig.FrameRange (argparse names the flag)."""
    import argparse

    from calibration.rig import FrameRange

    try:
        return FrameRange.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
