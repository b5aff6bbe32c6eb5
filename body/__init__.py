"""Parametric body models behind one interface, keypoint layouts, and fitting to keypoints.

Public API:

- :class:`BodyModel` (the interface every stage uses), :class:`BodyOutput`, :class:`BodyParams`.
- Backends: :class:`AnnyBody` (default, free, data from PyPI) and :class:`SmplxBody` (user-supplied SMPL-X files;
  ``$MULTICAP_SMPLX_DIR`` or ``--body-model-dir``). :func:`create_body` picks one by name.
- Keypoint layouts: :mod:`body.keypoint_layouts` (``get_layout``, ``convert_keypoints``, ``mapping_matrix``).
- Fitting: :func:`fit_keypoints3d`, :func:`fit_body` with pluggable :class:`KeypointTerm` data terms.
- Parameter files: ``BodyModel.save_params`` / ``load_params`` (JSON, docs/body-params.md).

Conventions: metres, world z-up; canonical rest frame with the root joint at the origin, body facing -y,
left at +x (see :mod:`body.model`). Heavy backends import lazily.
"""

from __future__ import annotations

import functools

from typing import TYPE_CHECKING

from body.errors import BodyModelError, SmplxModelNotFoundError
from body.fitting import FitConfig, FitResult, Keypoints2DTerm, Keypoints3DTerm, KeypointTerm, fit_body, fit_keypoints3d
from body.keypoint_layouts import LAYOUTS, KeypointLayout, convert_keypoints, get_layout, mapping_matrix
from body.model import BodyModel, BodyOutput
from body.params import BodyParams, load_params, save_params

if TYPE_CHECKING:
    from body.anny_body import AnnyBody
    from body.smplx_body import SmplxBody


def create_body(model: str = "anny", model_dir: str | None = None, **kwargs) -> BodyModel:
    """``"anny"`` -> :class:`AnnyBody`; ``"smplx"`` -> :class:`SmplxBody` from ``model_dir`` (or the env var)."""
    if model == "anny":
        from body.anny_body import AnnyBody

        return AnnyBody(**kwargs)
    if model == "smplx":
        from body.smplx_body import SmplxBody

        return SmplxBody(model_dir, **kwargs)
    raise BodyModelError(f"unknown body model {model!r}; expected 'anny' or 'smplx'")


@functools.lru_cache(maxsize=None)
def shared_body(model: str = "anny", model_dir: str | None = None) -> BodyModel:
    """One body model per (model, model_dir) for the whole process: a model holds hundreds of MB, so stages
    that evaluate many bodies share it. Treat it as read-only (no `.to()` / parameter changes)."""
    return create_body(model, model_dir)


def __getattr__(name: str):
    if name == "AnnyBody":
        from body.anny_body import AnnyBody

        return AnnyBody
    if name == "SmplxBody":
        from body.smplx_body import SmplxBody

        return SmplxBody
    raise AttributeError(f"module 'body' has no attribute {name!r}")


__all__ = [
    "AnnyBody", "SmplxBody", "BodyModel", "BodyOutput", "BodyParams", "BodyModelError", "SmplxModelNotFoundError",
    "create_body", "shared_body", "FitConfig", "FitResult", "KeypointTerm", "Keypoints2DTerm", "Keypoints3DTerm", "fit_body", "fit_keypoints3d",
    "LAYOUTS", "KeypointLayout", "get_layout", "convert_keypoints", "mapping_matrix", "load_params", "save_params",
]  # fmt: skip
