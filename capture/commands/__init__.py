"""Subcommands of the `capture` CLI: one module per subcommand, each with `register(subparsers)`."""


def frame_range_argument(text: str):
    """argparse `type=` for --frames: 'START:STOP[:STEP]' -> calibration.rig.FrameRange (argparse names the flag)."""
    import argparse

    from calibration.rig import FrameRange

    try:
        return FrameRange.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
