"""A body as the network and the stages after the body fit use it: posed and rest-pose vertices, faces and the
global rotation, numpy float64, metres."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from body.model import BodyModel
from body.params import BodyParams


@dataclass(frozen=True)
class BodySurface:
    """A fitted (or ground-truth) body of one person in one frame, numpy float64, metres.

    Attributes:
        vertices: (N, 3) posed vertices, world.
        rest_vertices: (N, 3) the same vertices in the canonical rest pose (for the global normal map colours).
        faces: (F, 3) int triangles (a watertight body mesh, for voxelisation).
        global_rotation: (3, 3) the body's global rotation (body frame -> world; the body faces -y in its frame).
    """

    vertices: np.ndarray
    rest_vertices: np.ndarray
    faces: np.ndarray
    global_rotation: np.ndarray


def body_surface(body: BodyModel, params: BodyParams, index: tuple[int, ...] = ()) -> BodySurface:
    """The BodySurface of one person-frame: `params` (any batch shape, e.g. (P, T)) evaluated at `index`
    (``()`` for parameters of one person-frame)."""
    from scipy.spatial.transform import Rotation

    shape = torch.broadcast_to(params.shape, (*params.batch_shape, params.shape.shape[-1]))
    single = BodyParams(shape=shape[index], pose_aa=params.pose_aa[index], global_rot_aa=params.global_rot_aa[index],
                        transl=params.transl[index])  # fmt: skip
    with torch.no_grad():
        out = body(single)
    return BodySurface(
        vertices=out.vertices.double().numpy(), rest_vertices=out.rest_vertices.double().numpy(),
        faces=out.faces.numpy(), global_rotation=Rotation.from_rotvec(single.global_rot_aa.double().numpy()).as_matrix(),
    )  # fmt: skip
