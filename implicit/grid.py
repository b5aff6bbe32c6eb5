"""A world-aligned regular lattice of sample points on which occupancy is evaluated and meshed.

Convention (corner sampling, written once here and pinned by tests/implicit/test_meshing.py):
    sample (i, j, k) lies at  minimum + voxel_size * (i, j, k),  0 <= i < resolution[0], ...
so the first sample is exactly at `minimum` and the last exactly at `maximum = minimum + voxel_size *
(resolution - 1)`. A volume evaluated on the grid is a (nx, ny, nz) array indexed [i, j, k] (axis 0 = world x,
1 = y, 2 = z); its C-order flattening matches `VoxelGrid.points()`. Marching cubes on such a volume returns
positions in index units, which `index_to_world` maps to metres; the surface can therefore only lie inside
[minimum, maximum] (plus the half-voxel closing band of `implicit.meshing.extract_mesh`). Read each sample as
the centre of a cube voxel of edge `voxel_size`: the voxels then cover [minimum - v/2, maximum + v/2].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class GridError(ValueError):
    """A grid argument that cannot be used; the message names it and says expected vs received."""


@dataclass(frozen=True, eq=False)
class VoxelGrid:
    """A regular lattice of `resolution` samples, `voxel_size` metres apart, starting at `minimum`.

    Attributes:
        minimum: (3,) world position of sample (0, 0, 0), metres.
        voxel_size: distance between neighbouring samples along every axis, metres (> 0).
        resolution: (nx, ny, nz) number of samples per axis (each >= 2).
    """

    minimum: np.ndarray
    voxel_size: float
    resolution: tuple[int, int, int]

    def __post_init__(self) -> None:
        minimum = np.asarray(self.minimum, dtype=np.float64).reshape(-1)
        if minimum.shape != (3,) or not np.all(np.isfinite(minimum)):
            raise GridError(f"VoxelGrid.minimum: expected 3 finite numbers, got {self.minimum!r}")
        voxel_size = float(self.voxel_size)
        if not np.isfinite(voxel_size) or voxel_size <= 0.0:
            raise GridError(f"VoxelGrid.voxel_size: expected a positive number of metres, got {self.voxel_size!r}")
        raw = np.asarray(self.resolution).reshape(-1)
        if raw.shape != (3,) or not np.issubdtype(raw.dtype, np.number) or np.any(raw % 1 != 0) or raw.min() < 2:
            raise GridError(f"VoxelGrid.resolution: expected 3 integers >= 2, got {self.resolution!r}")
        resolution = tuple(int(n) for n in raw)
        minimum.setflags(write=False)
        object.__setattr__(self, "minimum", minimum)
        object.__setattr__(self, "voxel_size", voxel_size)
        object.__setattr__(self, "resolution", resolution)

    @classmethod
    def for_points(
        cls,
        points: np.ndarray,
        margin_m: float = 0.1,
        voxel_size: float | None = None,
        resolution: int = 256,
    ) -> "VoxelGrid":
        """The grid around `points` (e.g. a person's fitted body vertices) grown by `margin_m` on every side.

        Args:
            points: (N, 3) world positions, metres.
            margin_m: added to each side of the points' bounding box (room for clothing and hair), metres.
            voxel_size: sample spacing in metres; when given, `resolution` is ignored.
            resolution: otherwise, the number of samples along the longest side of the box; the spacing
                follows from it and the other axes get as many samples as they need.

        The box is centred on the points' bounding box; each axis is rounded up to a whole number of voxels,
        so the grid covers at least the requested box.
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
            raise GridError(f"for_points: argument 'points': expected shape (N >= 1, 3), got {points.shape}")
        if not np.all(np.isfinite(points)):
            raise GridError("for_points: argument 'points': expected finite numbers, got NaN or inf")
        if margin_m < 0.0:
            raise GridError(f"for_points: argument 'margin_m': expected >= 0 metres, got {margin_m!r}")
        low = points.min(axis=0) - margin_m
        high = points.max(axis=0) + margin_m
        extent = high - low
        if voxel_size is None:
            if int(resolution) < 2:
                raise GridError(f"for_points: argument 'resolution': expected an integer >= 2, got {resolution!r}")
            if extent.max() <= 0.0:
                raise GridError("for_points: the points span no volume and margin_m = 0; give a margin")
            voxel_size = float(extent.max()) / (int(resolution) - 1)
        elif not voxel_size > 0.0:
            raise GridError(f"for_points: argument 'voxel_size': expected > 0 metres, got {voxel_size!r}")
        # ceil with a relative tolerance, so that an exact fit does not gain a spurious extra sample
        cells = np.maximum(np.ceil(extent / voxel_size - 1e-9), 1).astype(int)
        centre = 0.5 * (low + high)
        minimum = centre - 0.5 * cells * voxel_size
        return cls(minimum, voxel_size, tuple(int(c) + 1 for c in cells))

    @property
    def shape(self) -> tuple[int, int, int]:
        """(nx, ny, nz), the shape of a volume evaluated on this grid (same as `resolution`)."""
        return self.resolution

    @property
    def num_points(self) -> int:
        return int(np.prod(self.resolution))

    @property
    def maximum(self) -> np.ndarray:
        """(3,) world position of the last sample (nx - 1, ny - 1, nz - 1), metres."""
        return self.minimum + self.voxel_size * (np.asarray(self.resolution) - 1)

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sample coordinates along x, y and z: arrays of nx, ny, nz metres."""
        return tuple(self.minimum[a] + self.voxel_size * np.arange(n) for a, n in enumerate(self.resolution))

    def index_to_world(self, indices: np.ndarray) -> np.ndarray:
        """(..., 3) (possibly fractional) sample indices (i, j, k) -> (..., 3) world positions, metres."""
        return self.minimum + self.voxel_size * np.asarray(indices, dtype=np.float64)

    def world_to_index(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world positions -> (..., 3) fractional sample indices; round them for the nearest sample."""
        return (np.asarray(points, dtype=np.float64) - self.minimum) / self.voxel_size

    def flat_to_world(self, flat: np.ndarray) -> np.ndarray:
        """(N,) indices into the C-order flattened volume -> (N, 3) world positions, metres."""
        return self.index_to_world(np.stack(np.unravel_index(np.asarray(flat), self.resolution), axis=-1))

    def points(self) -> np.ndarray:
        """(nx * ny * nz, 3) every sample position in C order (k fastest), metres.

        This is 24 bytes per sample (400 MB at 256^3); `implicit.meshing` never builds it and evaluates in chunks.
        """
        return self.flat_to_world(np.arange(self.num_points))

    def __repr__(self) -> str:
        lo, hi = self.minimum, self.maximum
        return (
            f"VoxelGrid({self.resolution[0]}x{self.resolution[1]}x{self.resolution[2]}, "
            f"voxel {self.voxel_size * 1000:.2f} mm, [{lo[0]:.3f}, {lo[1]:.3f}, {lo[2]:.3f}] .. "
            f"[{hi[0]:.3f}, {hi[1]:.3f}, {hi[2]:.3f}] m)"
        )
