"""Body parameters (the one type every stage passes around) and their JSON format (docs/body-params.md).

Batch dims: any leading shape ``*batch`` (e.g. (P, T) people x frames). ``shape`` may have batch dims that
broadcast to those of the pose (e.g. (P, 1, S) shared over a person's frames).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from body.errors import BodyModelError

FORMAT_VERSION = 1


@dataclass
class BodyParams:
    """Parameters of a batch of bodies. Units: metres and radians; world is z-up.

    Attributes:
        shape: (*batch_s, S) shape coefficients, backend specific (Anny: phenotype values in [0, 1], 0.5 =
            average; SMPL-X: betas). ``*batch_s`` broadcasts to ``*batch``.
        pose_aa: (*batch, J, 3) axis-angle rotation of each posed joint relative to its parent, in the body's
            canonical axes at rest (x = body left, y = body back, z = up); J = ``body.pose_joint_names``.
        global_rot_aa: (*batch, 3) axis-angle rotation of the whole body about its root joint, world axes.
        transl: (*batch, 3) world position of the root joint (pelvis), metres.
    """

    shape: torch.Tensor
    pose_aa: torch.Tensor
    global_rot_aa: torch.Tensor
    transl: torch.Tensor

    def __post_init__(self) -> None:
        batch = self.batch_shape
        for name, tensor, tail in (("global_rot_aa", self.global_rot_aa, 1), ("transl", self.transl, 1)):
            if tensor.dim() < tail or tensor.shape[-1] != 3 or tuple(tensor.shape[:-1]) != batch:
                raise BodyModelError(
                    f"BodyParams.{name}: expected shape {(*batch, 3)} (batch dims of pose_aa), got {tuple(tensor.shape)}"
                )
        if self.pose_aa.dim() < 2 or self.pose_aa.shape[-1] != 3:
            raise BodyModelError(f"BodyParams.pose_aa: expected (*batch, J, 3), got {tuple(self.pose_aa.shape)}")
        try:
            torch.broadcast_shapes(tuple(self.shape.shape[:-1]), batch)
        except RuntimeError as error:
            raise BodyModelError(
                f"BodyParams.shape: batch dims {tuple(self.shape.shape[:-1])} do not broadcast to {batch}"
            ) from error

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The batch dims ``*batch`` (those of ``pose_aa`` without (J, 3))."""
        return tuple(self.pose_aa.shape[:-2])

    def map(self, fn) -> BodyParams:
        """A copy with ``fn`` applied to every tensor (e.g. ``lambda t: t.detach()``)."""
        return replace(self, **{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def to(self, *args, **kwargs) -> BodyParams:
        """``torch.Tensor.to`` on every field."""
        return self.map(lambda t: t.to(*args, **kwargs))

    def detach(self) -> BodyParams:
        return self.map(lambda t: t.detach())

    def expanded_shape(self) -> torch.Tensor:
        """``shape`` broadcast to (*batch, S)."""
        return self.shape.expand(*self.batch_shape, self.shape.shape[-1])


def params_to_dict(params: BodyParams, model: str, pose_joint_names: list[str], shape_names: list[str]) -> dict:
    """The JSON-ready dict of ``params`` (format in docs/body-params.md)."""
    if len(pose_joint_names) != params.pose_aa.shape[-2] or len(shape_names) != params.shape.shape[-1]:
        raise BodyModelError(
            f"params_to_dict: {len(pose_joint_names)} pose joint names / {len(shape_names)} shape names for "
            f"pose_aa {tuple(params.pose_aa.shape)} and shape {tuple(params.shape.shape)}"
        )
    as_list = lambda t: t.detach().cpu().double().numpy().tolist()  # noqa: E731
    return {
        "format": "multicap.body_params",
        "version": FORMAT_VERSION,
        "model": model,
        "units": "metres, radians (axis-angle), world z-up",
        "batch_shape": list(params.batch_shape),
        "shape_names": list(shape_names),
        "pose_joint_names": list(pose_joint_names),
        "shape": as_list(params.shape),
        "pose_aa": as_list(params.pose_aa),
        "global_rot_aa": as_list(params.global_rot_aa),
        "transl": as_list(params.transl),
    }


def params_from_dict(data: dict, dtype: torch.dtype = torch.float32, source: str = "<dict>") -> tuple[BodyParams, dict]:
    """Parse a dict written by :func:`params_to_dict`.

    Returns:
        The parameters and the metadata (``model``, ``pose_joint_names``, ``shape_names``).
    """
    if data.get("format") != "multicap.body_params":
        raise BodyModelError(f"{source}: field 'format' should be 'multicap.body_params', got {data.get('format')!r}")
    if data.get("version") != FORMAT_VERSION:
        raise BodyModelError(f"{source}: field 'version' should be {FORMAT_VERSION}, got {data.get('version')!r}")
    try:
        tensors = {k: torch.as_tensor(np.asarray(data[k], dtype=np.float64), dtype=dtype)
                   for k in ("shape", "pose_aa", "global_rot_aa", "transl")}  # fmt: skip
        meta = {k: data[k] for k in ("model", "pose_joint_names", "shape_names")}
    except KeyError as error:
        raise BodyModelError(f"{source}: missing field {error.args[0]!r}") from error
    params = BodyParams(**tensors)
    if params.pose_aa.shape[-2] != len(meta["pose_joint_names"]):
        raise BodyModelError(
            f"{source}: 'pose_aa' has {params.pose_aa.shape[-2]} joints but 'pose_joint_names' lists "
            f"{len(meta['pose_joint_names'])}"
        )
    return params, meta


def save_params(path: str | Path, params: BodyParams, model: str, pose_joint_names: list[str], shape_names: list[str]) -> None:
    """Write ``params`` as JSON, atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(params_to_dict(params, model, pose_joint_names, shape_names), indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def load_params(path: str | Path, dtype: torch.dtype = torch.float32) -> tuple[BodyParams, dict]:
    """Read a JSON file written by :func:`save_params`; returns (params, metadata)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise BodyModelError(f"{path}: cannot read body parameters JSON ({error})") from error
    return params_from_dict(data, dtype=dtype, source=str(path))
