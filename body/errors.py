"""Errors raised by the body package (all ``ValueError`` subclasses, so callers can catch one type)."""

from __future__ import annotations

SMPLX_DOWNLOAD_HELP = (
    "SMPL-X is licence-restricted and never downloaded by this project: register at "
    "https://smpl-x.is.tue.mpg.de, download 'SMPL-X v1.1 (NPZ+PKL)', and put SMPLX_NEUTRAL.npz "
    "(and SMPLX_MALE/FEMALE if wanted) in DIR/smplx/ or DIR/. Then pass --body-model-dir DIR, "
    "SmplxBody(model_dir=DIR), or set MULTICAP_SMPLX_DIR=DIR."
)


class BodyModelError(ValueError):
    """A body-model input (argument, file or field) is invalid: says what was expected and what was received."""


class SmplxModelNotFoundError(BodyModelError):
    """The SMPL-X model files are missing; the message says where to get them and where to put them."""


class BodyStageError(ValueError):
    """The body stage cannot run on its input (no keypoints, none in the selected frames, a bad option value)."""
