"""Temporal SDF fusion of one person over a sliding window of frames (DeepMultiCap section 4.3, Eq. 10).

For a frame t, every available frame t' of the window [t - h//2, t + h//2] contributes its reconstruction,
warped from t' to t through the fitted bodies (:mod:`fusion.warp`); their truncated signed distances on the
person's grid at t are averaged, weighted by each frame's confidence, and re-meshed at 0:

    S_t(x) = sum_{t' in F_t} c_t' S(x; warp_{t' -> t}(M_t')) / sum_{t' in F_t} c_t'

At the ends of a sequence the window shrinks; a neighbour where the person has no reconstruction or no body
(absent, or a missing frame) is skipped, and so is one with confidence 0. With a window of 1 the output is the
input re-meshed on the grid.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from body.model import BodyModel, BodyOutput
from fusion.errors import FusionError
from fusion.sdf import truncated_sdf
from fusion.warp import Attachment, WarpConfig, attach, warp_attached
from implicit.grid import VoxelGrid
from implicit.meshing import extract_mesh
from render.mesh import Mesh

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FusionConfig:
    """How a person's frames are fused."""

    window: int = 3
    """Frames per window h (odd): t - h//2 .. t + h//2; the paper uses 3."""
    voxel_size_m: float | None = 0.01
    """Spacing of the person's grid, metres; None: the spacing the fused frame's own mesh was reconstructed with
    (`fusion.stage.fuse_run` reads it from the implicit stage's record; `PersonFuser.fuse` takes it as argument)."""
    truncation_voxels: float = 3.0
    """Signed distances are clamped to this many voxels, so far-away disagreements do not dominate the mean."""
    sign_rays: int = 5
    """Rays voting on inside/outside per sample (odd); more tolerate larger holes."""
    largest_component: bool = False
    """Keep only the largest connected part of the fused mesh."""
    warp: WarpConfig = field(default_factory=WarpConfig)
    """How the neighbours' meshes are attached to the bodies and warped."""

    def __post_init__(self) -> None:
        if self.window < 1 or self.window % 2 == 0:
            raise FusionError(f"FusionConfig.window: expected an odd number of frames >= 1, got {self.window!r}")
        if self.voxel_size_m is not None and not self.voxel_size_m > 0:
            raise FusionError(f"FusionConfig.voxel_size_m: expected > 0 metres or None, got {self.voxel_size_m!r}")
        if not self.truncation_voxels >= 1:
            raise FusionError(f"FusionConfig.truncation_voxels: expected >= 1, got {self.truncation_voxels!r}")


@dataclass(frozen=True, eq=False)
class PersonFrame:
    """One person's per-frame reconstruction and the body fitted in that frame.

    Attributes:
        mesh: the reconstruction, world metres (closed; small holes are tolerated).
        body: the fitted body in the same frame (one person: vertices (N, 3)).
        confidence: weight of this frame in the mean (>= 0; 0 leaves it out).
    """

    mesh: Mesh
    body: BodyOutput
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if self.body.vertices.dim() != 2:
            raise FusionError(
                f"PersonFrame.body: expected one person's body, vertices (N, 3); got {tuple(self.body.vertices.shape)}"
            )
        if not self.confidence >= 0:
            raise FusionError(f"PersonFrame.confidence: expected >= 0, got {self.confidence!r}")
        if self.mesh.num_faces == 0:
            raise FusionError(f"PersonFrame.mesh: expected a mesh with faces, got {self.mesh!r}")


@dataclass(frozen=True)
class FusedFrame:
    """The fused mesh of one person in one frame, and what went into it.

    Attributes:
        mesh: fused surface, world metres (no faces if the mean field has no inside).
        frames: the frames whose meshes were averaged (nearest to t first), with their weights ``weights``.
        grid: the grid the mean was taken on.
        seconds: wall time of the fusion.
    """

    mesh: Mesh
    frames: tuple[int, ...]
    weights: tuple[float, ...]
    grid: VoxelGrid
    seconds: float


def window_frames(frame: int, window: int, available: Iterable[int]) -> list[int]:
    """Frames of the window around ``frame`` that are in ``available``: ``frame`` first, then by distance."""
    available = set(available)
    half = window // 2
    candidates = sorted(range(frame - half, frame + half + 1), key=lambda f: (abs(f - frame), f))
    return [f for f in candidates if f in available]


class PersonFuser:
    """Fuses one person's frames; keeps each frame's body attachment while the window still needs it.

    ``fuse(frame, frames)`` takes the person's available frames (at least those of the window) as
    {frame: PersonFrame}; attachments are cached per frame and reused while the same PersonFrame is passed.
    """

    def __init__(self, body: BodyModel, config: FusionConfig = FusionConfig()) -> None:
        self.body, self.config = body, config
        self._attachments: dict[int, tuple[PersonFrame, Attachment]] = {}

    def _attachment(self, frame: int, data: PersonFrame) -> Attachment:
        cached = self._attachments.get(frame)
        if cached is None or cached[0] is not data:
            cached = (data, attach(self.body, data.mesh.vertices, data.body, self.config.warp))
            self._attachments[frame] = cached
        return cached[1]

    def warped_mesh(self, source_frame: int, source: PersonFrame, target: PersonFrame) -> Mesh:
        """``source``'s mesh moved into ``target``'s pose (the target frame's own mesh is returned as is)."""
        if source is target:
            return source.mesh
        attachment = self._attachment(source_frame, source)
        moved = warp_attached(self.body, attachment, source.body, target.body, self.config.warp)
        return Mesh(moved, source.mesh.faces)

    def fuse(self, frame: int, frames: Mapping[int, PersonFrame], voxel_size_m: float | None = None) -> FusedFrame:
        """Fuse the window around ``frame`` (which must be in ``frames``) into one mesh at ``frame``, on a grid of
        ``voxel_size_m`` metres (default: the config's; required when that is None)."""
        start = time.perf_counter()
        if frame not in frames:
            raise FusionError(f"frame: expected a frame with a reconstruction, got {frame} (have {sorted(frames)})")
        config = self.config
        voxel = config.voxel_size_m if voxel_size_m is None else voxel_size_m
        if voxel is None or not voxel > 0:
            raise FusionError(f"voxel_size_m: expected > 0 metres (FusionConfig.voxel_size_m is None), got {voxel!r}")
        truncation = config.truncation_voxels * voxel
        used = [f for f in window_frames(frame, config.window, frames) if frames[f].confidence > 0] or [frame]
        target = frames[frame]
        warped = [self.warped_mesh(f, frames[f], target) for f in used]
        weights = np.array([frames[f].confidence for f in used], np.float64)
        if weights.sum() == 0:  # only the frame itself, with confidence 0: it is all there is
            weights[:] = 1.0
        grid = VoxelGrid.for_points(
            np.concatenate([m.vertices for m in warped]), margin_m=truncation + voxel, voxel_size=voxel
        )  # fmt: skip
        mean = np.zeros(grid.shape, np.float64)
        for mesh, weight in zip(warped, weights):
            mean += weight * truncated_sdf(mesh, grid, truncation, config.sign_rays)
        mean /= weights.sum()
        fused = extract_mesh(-mean, grid, threshold=0.0, largest_component=config.largest_component)
        for stale in [f for f in self._attachments if abs(f - frame) > config.window]:
            del self._attachments[stale]
        return FusedFrame(fused, tuple(used), tuple(float(w) for w in weights), grid, time.perf_counter() - start)


def fuse_sequence(body: BodyModel, frames: Mapping[int, PersonFrame], config: FusionConfig = FusionConfig()) -> dict[int, FusedFrame]:
    """Fuse every frame of one person's sequence ({frame: PersonFrame}, frames may have gaps), in order."""
    fuser = PersonFuser(body, config)
    results = {}
    for frame in sorted(frames):
        results[frame] = fuser.fuse(frame, frames)
        logger.debug("fused frame %d from %s in %.2f s", frame, results[frame].frames, results[frame].seconds)
    return results
