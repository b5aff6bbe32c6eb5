"""Temporal SDF fusion over a sliding window of frames (DeepMultiCap section 4.3, Eq. 7-10).

Public API:

- :func:`warp_mesh` / :func:`attach` + :func:`warp_attached`: move a mesh attached to a fitted body from one
  frame's pose to another's (nearest-vertex skinning weights, inverse then forward skinning, plus the body
  surface's residual motion), for any :class:`body.BodyModel` backend.
- :func:`truncated_sdf`: truncated signed distance of a mesh on an :class:`implicit.grid.VoxelGrid`, inside by a
  majority vote of ray-parity tests (tolerates small holes).
- :class:`PersonFuser`, :func:`fuse_sequence`, :class:`FusionConfig`, :class:`PersonFrame`: the weighted mean of
  the warped meshes' signed distances over the window, re-meshed at 0.
- :func:`fusion.stage.fuse_run`: the pipeline stage (``RUN/meshes`` + ``RUN/body`` -> ``RUN/fused``).

Conventions: metres, world coordinates; signed distances negative inside. docs/fusion.md explains the method.
"""

from __future__ import annotations

from fusion.errors import FusionError
from fusion.sdf import truncated_sdf
from fusion.temporal import FusedFrame, FusionConfig, PersonFrame, PersonFuser, fuse_sequence, window_frames
from fusion.warp import Attachment, WarpConfig, attach, warp_attached, warp_mesh

__all__ = [
    "FusionError", "truncated_sdf", "FusedFrame", "FusionConfig", "PersonFrame", "PersonFuser", "fuse_sequence",
    "window_frames", "Attachment", "WarpConfig", "attach", "warp_attached", "warp_mesh",
]  # fmt: skip
