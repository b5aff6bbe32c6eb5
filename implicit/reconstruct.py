"""Reconstruct one person: the one path from a person's views and body to a mesh, shared by `capture reconstruct`
(capture.person_frame), `capture eval` (multihuman_eval.methods) and training validation (multihuman_eval.validation).

    config = ReconstructionConfig(resolution=256)
    result = reconstruct_person(PersonViews(cameras, images, person_mask, unobserved), body, others, config, model)
    result.mesh, result.grid.voxel_size          # render.Mesh (world metres), the grid's spacing (metres)

Steps, the same for every caller:
1. the grid: `VoxelGrid.for_points(body vertices, config.margin_m, resolution=config.resolution)`;
2. the occupancy: the network (`model`) on the person's views (`build_person_inputs` + `occupancy_function`, or an
   encoding the caller already made), or without a model the views' visual hull (`implicit.visual_hull`);
3. the neighbour rule (`implicit.neighbours`): space another person's body claims is outside, when `neighbours`
   is given (None: the caller knows of nobody else) and `config.neighbour_margin_m` is not None;
4. octree evaluation and marching cubes (`implicit.meshing.reconstruct_mesh`, `config.meshing`), keeping the parts
   near the body's vertices.

The implicit stage records the settings it used next to each mesh (`write_mesh_record`), so later stages (temporal
fusion) read the real voxel size instead of guessing it (`read_voxel_size`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from body.surface import BodySurface
from calibration.camera import Camera
from implicit.dataset import build_person_inputs
from implicit.grid import VoxelGrid
from implicit.meshing import MeshingConfig, MeshingStats, reconstruct_mesh
from implicit.model import DeepMultiCap, PersonEncoding, encoded_occupancy_function, occupancy_function
from implicit.neighbours import DEFAULT_MARGIN_M, exclude_neighbours
from implicit.visual_hull import VisualHull
from render.mesh import Mesh

DEFAULT_GRID_MARGIN_M = 0.12
"""Room added to each side of the body's bounding box for clothing and hair, metres. One value for the pipeline,
the evaluation and validation, so that `capture eval` scores what `capture reconstruct` makes; it is the pipeline's
(loose clothes and hair reach about 10 cm past the fitted body; a wider box only spends voxels on empty space)."""

RECORD_FORMAT = "multicap.mesh_record"


class ReconstructionError(ValueError):
    """Inputs of a person's reconstruction, or a mesh record, that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class ReconstructionConfig:
    """How one person is reconstructed (the same for the pipeline, the evaluation and validation)."""

    resolution: int = 256
    """Grid samples along the longest side of the person's box (the spacing follows from it)."""
    margin_m: float = DEFAULT_GRID_MARGIN_M
    """Added to each side of the body's bounding box for the grid, metres."""
    meshing: MeshingConfig = field(default_factory=MeshingConfig)
    """Octree evaluation and marching cubes."""
    neighbour_margin_m: float | None = DEFAULT_MARGIN_M
    """Occupancy is 0 where another person's body is this much nearer (signed distance, metres); None: no such rule."""
    fine: bool = True
    """Evaluate the network's fine level (False: the coarse level only). A precomputed encoding keeps its own."""
    lone_background_blocked: bool = True
    """A view that says background over a body part that at least half of the views see in the person's mask is
    taken to be blocked there (a prop the masks do not name), not to show empty space
    (`implicit.visibility.disputed_pixels`); needs PersonViews. Measured in docs/BENCHMARKS.md ("Props absent from
    the masks"): no change where nothing is blocked."""

    def __post_init__(self) -> None:
        if int(self.resolution) != self.resolution or self.resolution < 2:
            raise ReconstructionError(f"ReconstructionConfig.resolution: expected an integer >= 2, got "
                                      f"{self.resolution!r}")  # fmt: skip
        if not self.margin_m >= 0:
            raise ReconstructionError(f"ReconstructionConfig.margin_m: expected >= 0 metres, got {self.margin_m!r}")
        if self.neighbour_margin_m is not None and not self.neighbour_margin_m >= 0:
            raise ReconstructionError(f"ReconstructionConfig.neighbour_margin_m: expected >= 0 metres or None, got "
                                      f"{self.neighbour_margin_m!r}")  # fmt: skip

    def describe(self) -> dict:
        """JSON-ready settings (what changes the mesh)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class PersonViews:
    """One person seen in V views, numpy; view v has its camera's image size H_v x W_v (a (V, H, W, ...) array
    when all views share one size, else a sequence of V arrays).

    Attributes:
        cameras: V cameras.
        images: V (H_v, W_v, 3) float32 RGB in [0, 1].
        person_mask: V (H_v, W_v) bool, this person visible.
        unobserved: V (H_v, W_v) bool, this person possibly hidden there (by another person or an object): neither
            carved nor background.
    """

    cameras: Sequence[Camera]
    images: np.ndarray | Sequence[np.ndarray]
    person_mask: np.ndarray | Sequence[np.ndarray]
    unobserved: np.ndarray | Sequence[np.ndarray]

    def __post_init__(self) -> None:
        v = len(self.cameras)
        for name in ("images", "person_mask", "unobserved"):
            if len(getattr(self, name)) != v:
                raise ReconstructionError(f"PersonViews.{name}: expected {v} views (one per camera), got "
                                          f"{len(getattr(self, name))}")  # fmt: skip
        for camera, image, *masks in zip(self.cameras, self.images, self.person_mask, self.unobserved):
            size = (camera.height, camera.width)
            if np.shape(image) != (*size, 3):
                raise ReconstructionError(f"PersonViews.images, camera {camera.name}: expected {(*size, 3)}, got "
                                          f"{np.shape(image)}")  # fmt: skip
            for name, mask in zip(("person_mask", "unobserved"), masks):
                if np.shape(mask) != size or np.asarray(mask).dtype != bool:
                    raise ReconstructionError(f"PersonViews.{name}, camera {camera.name}: expected bool {size}, got "
                                              f"{np.asarray(mask).dtype} {np.shape(mask)}")  # fmt: skip


@dataclass(frozen=True, eq=False)
class PersonReconstruction:
    """A person's mesh (world metres; no faces when nothing is inside), the grid it was meshed on and the cost."""

    mesh: Mesh
    grid: VoxelGrid
    stats: MeshingStats


def person_grid(points: np.ndarray, config: ReconstructionConfig, margin_m: float | None = None) -> VoxelGrid:
    """The grid around (N, 3) world `points` (the body's vertices): `margin_m` (default `config.margin_m`) on
    every side, `config.resolution` samples along the longest side."""
    return VoxelGrid.for_points(points, config.margin_m if margin_m is None else margin_m, resolution=config.resolution)


def reconstruct_person(
    views: PersonViews | PersonEncoding,
    body: BodySurface | Mesh,
    neighbours: Sequence[Mesh] | None,
    config: ReconstructionConfig,
    model: DeepMultiCap | None = None,
) -> PersonReconstruction:
    """Reconstruct one person (module docstring).

    Args:
        views: the person's views; or, with a model, their encoding by `model.encode` (one person), e.g. when
            the caller scores the same encoding otherwise too.
        body: the person's fitted (or ground-truth) body: the grid's box, the anchors that keep parts near the
            person and, for the network, its body inputs (a BodySurface; the visual hull also takes a body Mesh).
        neighbours: the other people's watertight body meshes in the same frame (world metres), [] when there
            are none; None when the caller knows of none (no neighbour rule).
        config: grid, meshing and neighbour settings.
        model: the network; None: the visual hull of `views` (hard carving; `unobserved` pixels do not carve).
    """
    if config.lone_background_blocked and isinstance(views, PersonViews):
        views = _with_blocked_pixels(views, body)
    if model is None:
        if not isinstance(views, PersonViews):
            raise ReconstructionError(f"reconstruct_person: the visual hull needs PersonViews, got "
                                      f"{type(views).__name__}")  # fmt: skip
        fn = VisualHull(list(views.cameras), views.person_mask, views.unobserved)
    elif isinstance(views, PersonEncoding):
        fn = encoded_occupancy_function(model, views)
    elif not isinstance(body, BodySurface):
        raise ReconstructionError(f"reconstruct_person: the network needs the body's parameters (a BodySurface), got "
                                  f"{type(body).__name__}")  # fmt: skip
    else:
        inputs, _, _ = build_person_inputs(views.cameras, views.images, views.person_mask, views.unobserved, body,
                                           model.config)  # fmt: skip
        fn = occupancy_function(model, inputs, fine=config.fine)
    if neighbours is not None and config.neighbour_margin_m is not None:
        fn = exclude_neighbours(fn, Mesh(body.vertices, body.faces), neighbours, config.neighbour_margin_m)
    grid = person_grid(body.vertices, config)
    mesh, stats = reconstruct_mesh(fn, grid, config.meshing, anchors=body.vertices)
    return PersonReconstruction(mesh, grid, stats)


def _with_blocked_pixels(views: PersonViews, body: BodySurface | Mesh) -> PersonViews:
    """`views` with the pixels where a view alone disagrees with the others over the body added to `unobserved`."""
    from implicit.visibility import disputed_pixels

    blocked = disputed_pixels(views.cameras, views.person_mask, views.unobserved, body.vertices, body.faces)
    unobserved = [np.asarray(hidden, bool) | extra for hidden, extra in zip(views.unobserved, blocked)]
    if isinstance(views.unobserved, np.ndarray):
        unobserved = np.stack(unobserved)
    return dataclasses.replace(views, unobserved=unobserved)


def mesh_record_path(mesh_path: str | Path) -> Path:
    """Where the record of ``<name>.ply`` lies: ``<name>.json`` beside it."""
    return Path(mesh_path).with_suffix(".json")


def write_mesh_record(mesh_path: str | Path, method: str, grid: VoxelGrid, config: ReconstructionConfig) -> Path:
    """Write, atomically, how the mesh at `mesh_path` was reconstructed: the method, the grid (voxel size, metres)
    and the settings. Write it before the mesh, so that a finished mesh always has its record."""
    from calibration.atomic import atomic_write_text

    document = {
        "format": RECORD_FORMAT, "version": 1, "method": method, "voxel_size_m": grid.voxel_size,
        "grid": {"minimum": grid.minimum.tolist(), "resolution": list(grid.resolution)},
        "settings": config.describe(),
    }  # fmt: skip
    path = mesh_record_path(mesh_path)
    atomic_write_text(path, json.dumps(document, indent=1))
    return path


def read_voxel_size(mesh_path: str | Path) -> float:
    """The voxel size (metres) the mesh at `mesh_path` was reconstructed with, from its record."""
    path = mesh_record_path(mesh_path)
    if not path.is_file():
        raise ReconstructionError(f"{path}: expected the implicit stage's record of the mesh's voxel size, found none "
                                  "(a run from before records were written: rerun `capture reconstruct --force`, or "
                                  "give the voxel size, e.g. `capture fuse --voxel-size 0.01`)")  # fmt: skip
    try:
        voxel = json.loads(path.read_text())["voxel_size_m"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ReconstructionError(f"{path}: field 'voxel_size_m': expected a number of metres ({error!r})") from error
    if not isinstance(voxel, (int, float)) or not voxel > 0:
        raise ReconstructionError(f"{path}: field 'voxel_size_m': expected a positive number of metres, got {voxel!r}")
    return float(voxel)
