"""The visual-hull baseline: occupancy carved from one person's masks, meshed like the network's output.

Rule (per point and view): the point is projected with the camera's full distortion model and the mask is
read at the nearest pixel (pixel centres at integer coordinates). A view *sees* the point when it is in front
of the camera, inside the radius where the distortion model is monotonic, and the nearest pixel is inside
the image. A seeing view *carves* the point when that pixel is neither this person's foreground nor
`unknown` (unknown = unobserved for this person, e.g. another person in front: such pixels must not carve).

    hard occupancy = 1 if at least one view sees the point and none carves it, else 0
    soft occupancy = (views that see and do not carve) / (views that see), 0 where none sees

Points that no view sees are outside. Marching the hard occupancy at 0.5 gives the classical visual hull
(within half a voxel); the soft one at 0.5 keeps points that a majority of the seeing views agree on, which
tolerates a mask error in a minority of views.

    from implicit.visual_hull import visual_hull_mesh
    mesh = visual_hull_mesh(cameras, person_masks, occluded_by_others, grid)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from calibration.camera import Camera, distort_normalized
from implicit.grid import VoxelGrid
from implicit.meshing import MeshingConfig, reconstruct_mesh
from render.mesh import Mesh
from render.renderer import distortion_valid_radius2

NEAR = 1e-6
"""Camera z (metres) below which a point counts as behind the camera."""


class VisualHullError(ValueError):
    """Bad cameras or masks; the message names the argument and says expected vs received."""


def _masks(value, cameras: Sequence[Camera], name: str) -> list[np.ndarray]:
    """`value` as V bool (H_v, W_v) arrays matching the cameras, or a VisualHullError naming `name`."""
    views = list(value) if not isinstance(value, np.ndarray) or value.ndim == 3 else [value]
    if len(views) != len(cameras):
        raise VisualHullError(f"argument '{name}': expected {len(cameras)} views (one per camera), got {len(views)}")
    result = []
    for view, camera in zip(views, cameras):
        view = np.asarray(view)
        if view.shape != (camera.height, camera.width):
            raise VisualHullError(
                f"argument '{name}', camera {camera.name!r}: expected shape (H, W) = "
                f"({camera.height}, {camera.width}), got {view.shape}"
            )
        if view.dtype != bool:
            raise VisualHullError(f"argument '{name}', camera {camera.name!r}: expected a bool mask, got {view.dtype}")
        result.append(view)
    return result


class VisualHull:
    """Occupancy from masks (module docstring); call it as an `implicit.meshing.OccupancyFn`.

    Args:
        cameras: the V calibrated cameras.
        masks: (V, H, W) bool, True where the pixel is this person (or a list of V (H_v, W_v) arrays when
            the cameras' sizes differ).
        unknown: same shape, True where this person is unobserved (another person or object in front, or
            no data): such pixels do not carve. None = every pixel is observed.
        soft: return the fraction of seeing views that agree instead of the hard 0 / 1 occupancy.
    """

    def __init__(
        self,
        cameras: Sequence[Camera],
        masks: np.ndarray | Sequence[np.ndarray],
        unknown: np.ndarray | Sequence[np.ndarray] | None = None,
        soft: bool = False,
    ) -> None:
        self.cameras = list(cameras)
        if not self.cameras or not all(isinstance(c, Camera) for c in self.cameras):
            raise VisualHullError(f"argument 'cameras': expected a non-empty list of Camera, got {cameras!r}")
        self.masks = _masks(masks, self.cameras, "masks")
        self.unknown = None if unknown is None else _masks(unknown, self.cameras, "unknown")
        self.soft = soft
        self._valid_r2 = [distortion_valid_radius2(c.dist) for c in self.cameras]

    def _pixels(self, view: int, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N,) bool seen, (N,) int row, (N,) int column of `points` in `view` (rows/columns 0 where not seen)."""
        camera = self.cameras[view]
        x_cam = camera.world_to_camera(points)
        z = x_cam[:, 2]
        valid = z > NEAR
        xy = x_cam[:, :2] / np.where(valid, z, 1.0)[:, None]
        valid &= (xy * xy).sum(axis=1) <= self._valid_r2[view]  # beyond it the distortion model folds back
        if camera.has_distortion:
            xy = distort_normalized(xy, camera.dist)
        pixels = np.rint(xy @ camera.K[:2, :2].T + camera.K[:2, 2])
        column, row = pixels[:, 0], pixels[:, 1]
        seen = valid & (column >= 0) & (column < camera.width) & (row >= 0) & (row < camera.height)
        return seen, np.where(seen, row, 0).astype(np.intp), np.where(seen, column, 0).astype(np.intp)

    def votes(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) int views that see each of the (N, 3) world `points`, and (N,) int views that carve it."""
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3:
            raise VisualHullError(f"argument 'points': expected shape (N, 3), got {points.shape}")
        seeing = np.zeros(len(points), np.int32)
        carving = np.zeros(len(points), np.int32)
        for view in range(len(self.cameras)):
            seen, row, column = self._pixels(view, points)
            keep = self.masks[view][row, column]
            if self.unknown is not None:
                keep |= self.unknown[view][row, column]
            seeing += seen
            carving += seen & ~keep
        return seeing, carving

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N,) float32 occupancy (hard 0 / 1, or the soft fraction)."""
        seeing, carving = self.votes(points)
        if self.soft:
            return ((seeing - carving) / np.maximum(seeing, 1)).astype(np.float32)
        return ((seeing > 0) & (carving == 0)).astype(np.float32)


def visual_hull_mesh(
    cameras: Sequence[Camera],
    masks: np.ndarray | Sequence[np.ndarray],
    unknown: np.ndarray | Sequence[np.ndarray] | None,
    grid: VoxelGrid,
    soft: bool = False,
    config: MeshingConfig = MeshingConfig(),
    anchors: np.ndarray | None = None,
) -> Mesh:
    """The visual hull of one person (see `VisualHull` for the arguments) meshed on `grid` with the same
    octree evaluation and marching cubes as the network (`implicit.meshing.reconstruct_mesh`, which also explains
    `anchors`: points of the person, e.g. the body's vertices, near which smaller parts are kept).

    Returns:
        Mesh in world metres, faces counter-clockwise from outside; no faces when nothing survives carving.
    """
    mesh, _ = reconstruct_mesh(VisualHull(cameras, masks, unknown, soft), grid, config, anchors)
    return mesh
