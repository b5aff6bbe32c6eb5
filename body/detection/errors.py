"""Errors raised by the detection package (``ValueError`` subclasses, like the rest of ``body``)."""

from __future__ import annotations

from body.errors import BodyModelError

DETECT_INSTALL_HELP = (
    "install the optional detector with: pip install '.[detect]' && pip install --no-deps mediapipe==0.10.14 "
    "(or: make setup); --no-deps keeps mediapipe from pulling jax, which it declares but does not need here"
)


class DetectionError(BodyModelError):
    """A detection input (image, boxes, file, option) is invalid: says what was expected and what was received."""


class DetectorUnavailableError(DetectionError):
    """A detector backend cannot run here (e.g. mediapipe is not installed); the message says how to install it."""
