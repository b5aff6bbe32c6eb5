"""The fusion package's error type."""

from __future__ import annotations


class FusionError(ValueError):
    """Bad input to the fusion package; the message names the argument or file, expected vs received."""
