"""Occupancy on a grid, evaluated coarse-to-fine (octree) or densely, and meshed with marching cubes.

    from implicit.grid import VoxelGrid
    from implicit.meshing import reconstruct_mesh
    grid = VoxelGrid.for_points(body_vertices, margin_m=0.1, resolution=256)
    mesh, stats = reconstruct_mesh(occupancy_fn, grid)        # render.Mesh in world metres

An `OccupancyFn` maps (N, 3) world points (metres) to (N,) occupancy in [0, 1]; inside is above the
threshold (0.5). The machinery only compares values with the threshold, so any scalar field works when
inside is above it (for a signed distance that is negative inside, pass -sdf and threshold 0).

Octree (as PIFu's eval_grid_octree, with a safety band and a closing pass): the lattice with spacing `step` (a
power of two; the last sample of each axis is always included) is evaluated first; then, level by level, spacing
halves: a cell of the current lattice "touches the surface" when its 8 corner values are not all on one side
of the threshold by more than `near` (cells on the grid's border also when a corner is inside, since the grid's
exterior is outside); those cells and `band` rings of cells around them (`final_band` at the last level) are
refined (the new samples in them are evaluated), and the new samples of every other cell are filled by trilinear
interpolation of its corners, which keeps them on the corners' side of the threshold. At spacing 1 every grid sample is set.
Closing pass: while a grid edge whose ends lie on opposite sides of the threshold has an interpolated end, that
end is evaluated; so every edge marching cubes cuts has exact values at both ends, and a surface that leaves the
refined cells (a thin part the coarser levels missed) is followed sample by sample.
What it cannot see: a surface that touches no evaluated sample (an object thinner than about one coarse cell, held
between coarse samples, away from the rest of the surface) is lost, as in every coarse-to-fine scheme.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from itertools import product
from typing import Callable

import numpy as np
from scipy import ndimage

from implicit.grid import VoxelGrid
from render.mesh import Mesh

logger = logging.getLogger(__name__)

OccupancyFn = Callable[[np.ndarray], np.ndarray]
"""(N, 3) float64 world points, metres -> (N,) occupancy in [0, 1] (inside above 0.5)."""

DEFAULT_CHUNK_SIZE = 262_144


class MeshingError(ValueError):
    """Bad arguments to the meshing functions, or an occupancy function that returned the wrong thing."""


@dataclass(frozen=True)
class MeshingConfig:
    """How `reconstruct_mesh` evaluates and meshes an occupancy function."""

    threshold: float = 0.5
    """Iso-value of the surface; values above it are inside."""
    octree: bool = True
    """Evaluate coarse-to-fine, refining only near the surface; False evaluates every grid sample."""
    coarse_resolution: int = 32
    """Octree: the first lattice has at least this many samples along the grid's longest axis."""
    coarse_step: int | None = None
    """Octree: spacing of the first lattice in samples (a power of two); overrides `coarse_resolution`."""
    band: int = 1
    """Octree: rings of cells refined around every cell that touches the surface, at each level but the last."""
    final_band: int = 0
    """Octree: the same rings at the last level (spacing 1), where the closing pass already follows the surface."""
    near: float = 0.3
    """Octree: a cell is also refined when one of its corner values lies within this of the threshold (catches a
    bump that pokes through between the corners, which leaves them close to the threshold). In the field's units:
    for occupancy in [0, 1]; set it for any other field (e.g. 0 for a signed distance)."""
    chunk_size: int = DEFAULT_CHUNK_SIZE
    """Points per call of the occupancy function (bounds its memory, e.g. a network's batch)."""
    close_boundary: bool = True
    """Treat everything outside the grid as outside, so a surface cut by the grid's box is closed there."""
    largest_component: bool = True
    """Keep the connected component with the most faces, plus the components that come within anchor_distance
    of the anchor points given to `reconstruct_mesh` (the person's body): floating blobs away from the person (e.g.
    where another person stands, which every view sees as 'unobserved') are dropped. False keeps every part."""
    anchor_distance: float = 0.05
    """Metres: a smaller component is kept when one of its vertices is this close to an anchor point."""
    smooth_iterations: int = 0
    """Taubin smoothing iterations after marching cubes (volume-preserving); 0 = none."""

    def __post_init__(self) -> None:
        if self.coarse_resolution < 2:
            raise MeshingError(f"MeshingConfig.coarse_resolution: expected >= 2, got {self.coarse_resolution!r}")
        if self.coarse_step is not None:
            _check_power_of_two(self.coarse_step, "MeshingConfig.coarse_step")
        for name in ("band", "final_band"):
            if getattr(self, name) < 0:
                raise MeshingError(f"MeshingConfig.{name}: expected >= 0 cells, got {getattr(self, name)!r}")
        if not 0.0 <= self.near < 1.0:
            raise MeshingError(f"MeshingConfig.near: expected a value in [0, 1), got {self.near!r}")
        if self.chunk_size < 1:
            raise MeshingError(f"MeshingConfig.chunk_size: expected >= 1 points, got {self.chunk_size!r}")
        if not self.anchor_distance >= 0.0:
            raise MeshingError(f"MeshingConfig.anchor_distance: expected >= 0 metres, got {self.anchor_distance!r}")
        if self.smooth_iterations < 0:
            raise MeshingError(f"MeshingConfig.smooth_iterations: expected >= 0, got {self.smooth_iterations!r}")


@dataclass(frozen=True)
class MeshingStats:
    """What one `reconstruct_mesh` call cost.

    Attributes:
        queries: points passed to the occupancy function.
        dense_queries: grid samples, i.e. what a dense evaluation queries.
        evaluate_seconds: time spent evaluating the volume (occupancy function included).
        mesh_seconds: time spent in marching cubes and the optional clean-up.
    """

    queries: int
    dense_queries: int
    evaluate_seconds: float
    mesh_seconds: float

    @property
    def query_fraction(self) -> float:
        """queries / dense_queries."""
        return self.queries / self.dense_queries

    @property
    def total_seconds(self) -> float:
        return self.evaluate_seconds + self.mesh_seconds


def _check_power_of_two(value: int, name: str) -> None:
    if int(value) != value or value < 1 or int(value) & (int(value) - 1):
        raise MeshingError(f"{name}: expected a power of two >= 1, got {value!r}")


def evaluate_points(fn: OccupancyFn, points: np.ndarray, chunk_size: int = DEFAULT_CHUNK_SIZE) -> np.ndarray:
    """(N,) float32 values of `fn` at (N, 3) world `points`, calling it on chunks of at most `chunk_size`."""
    points = np.asarray(points, dtype=np.float64)
    values = np.empty(len(points), np.float32)
    for start in range(0, len(points), chunk_size):
        chunk = points[start : start + chunk_size]
        result = np.asarray(fn(chunk), dtype=np.float32)
        if result.shape != (len(chunk),):
            raise MeshingError(
                f"occupancy function: expected shape ({len(chunk)},) for {len(chunk)} points, got {result.shape}"
            )
        if not np.all(np.isfinite(result)):
            raise MeshingError("occupancy function: expected finite values, got NaN or inf")
        values[start : start + len(chunk)] = result
    return values


def evaluate_dense(fn: OccupancyFn, grid: VoxelGrid, chunk_size: int = DEFAULT_CHUNK_SIZE) -> np.ndarray:
    """(nx, ny, nz) float32 values of `fn` at every grid sample (the reference the octree must match)."""
    values = np.empty(grid.num_points, np.float32)
    for start in range(0, grid.num_points, chunk_size):
        flat = np.arange(start, min(start + chunk_size, grid.num_points))
        values[flat] = evaluate_points(fn, grid.flat_to_world(flat), chunk_size)
    return values.reshape(grid.shape)


def coarse_step_for(shape: tuple[int, ...], coarse_resolution: int = 32) -> int:
    """The largest power-of-two spacing whose lattice still has >= `coarse_resolution` samples on the
    longest axis of `shape` (1 when the grid itself is that coarse)."""
    longest = max(shape) - 1
    step = 1
    while longest / (2 * step) >= coarse_resolution - 1:
        step *= 2
    return step


def _lattice(n: int, step: int) -> np.ndarray:
    """Sample indices 0, step, 2 step, ... along an axis of n samples, plus the last one (n - 1)."""
    return np.unique(np.append(np.arange(0, n, step), n - 1))


def _lattice_index(axes: list[np.ndarray], shape: tuple[int, int, int]) -> tuple:
    """Index of the lattice `axes` into a volume of `shape`: plain slices when it is the whole grid (fast),
    else np.ix_."""
    if all(len(axis) == n for axis, n in zip(axes, shape)):
        return (slice(None),) * 3
    return np.ix_(*axes)


def _bracket(coarse: np.ndarray, fine: np.ndarray):
    """How the `fine` lattice (a superset of `coarse`, both sorted sample indices) sits in `coarse`'s cells.

    Returns, per fine index: lo, hi positions in `coarse` of the nodes around it (equal on a node), the
    weight (fine - coarse[lo]) / (coarse[hi] - coarse[lo]) (0 on a node), and the first and last cell
    (positions in the len(coarse) - 1 cells) that contain it (two cells for an inner node).
    """
    lo = np.searchsorted(coarse, fine, side="right") - 1
    on_node = coarse[lo] == fine
    hi = np.where(on_node, lo, np.minimum(lo + 1, len(coarse) - 1))
    span = np.maximum(coarse[hi] - coarse[lo], 1)
    weight = ((fine - coarse[lo]) / span).astype(np.float32)
    last_cell = len(coarse) - 2
    first = np.clip(np.where(on_node, lo - 1, lo), 0, last_cell)
    last = np.clip(lo, 0, last_cell)
    return lo, hi, weight, first, last


def _surface_cells(corners: np.ndarray, threshold: float, near: float) -> np.ndarray:
    """(mx-1, my-1, mz-1) bool: the cell's 8 corner values of (mx, my, mz) `corners` are not all above
    `threshold` + `near` or all below `threshold` - `near`, or the cell is on the grid's border and a corner is
    not below `threshold` - `near`."""
    cx, cy, cz = (m - 1 for m in corners.shape)
    low = np.full((cx, cy, cz), np.inf, np.float32)
    high = np.full((cx, cy, cz), -np.inf, np.float32)
    for dx, dy, dz in product((0, 1), repeat=3):
        corner = corners[dx : dx + cx, dy : dy + cy, dz : dz + cz]
        np.minimum(low, corner, out=low)
        np.maximum(high, corner, out=high)
    cells = (low <= threshold + near) & (high >= threshold - near)
    # the grid's exterior counts as outside (extract_mesh closes the surface there), so border cells with
    # an inside corner hold surface too
    border = np.zeros_like(cells)
    border[[0, -1], :, :] = border[:, [0, -1], :] = border[:, :, [0, -1]] = True
    return cells | (border & (high >= threshold - near))


def evaluate_octree(
    fn: OccupancyFn,
    grid: VoxelGrid,
    coarse_resolution: int = 32,
    threshold: float = 0.5,
    coarse_step: int | None = None,
    band: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    final_band: int = 0,
    near: float = 0.3,
) -> np.ndarray:
    """(nx, ny, nz) float32 volume of `fn` on `grid`, evaluated exactly only near the surface (module docstring).

    Args:
        fn: occupancy function, (N, 3) world points -> (N,) values.
        grid: where to evaluate.
        coarse_resolution: the first lattice has at least this many samples on the longest axis.
        threshold: iso-value; cells whose corners straddle (or touch) it are refined.
        coarse_step: spacing of the first lattice (power of two), overriding `coarse_resolution`.
        band: rings of cells refined around each surface cell, per level but the last (1 = one-cell safety band).
        chunk_size: points per call of `fn`.
        final_band: the rings at the last level.
        near: cells with a corner value within `near` of `threshold` are refined too.

    Exactly evaluated samples hold `fn`'s value, among them both ends of every edge that crosses `threshold`; the
    others hold an interpolation that lies on the same side of `threshold` as the cell it was interpolated in.
    """
    step = coarse_step if coarse_step is not None else coarse_step_for(grid.shape, coarse_resolution)
    _check_power_of_two(step, "evaluate_octree: argument 'coarse_step'")
    shape = grid.shape
    values = np.empty(shape, np.float32)
    exact = np.zeros(shape, bool)

    axes = [_lattice(n, step) for n in shape]
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    values[np.ix_(*axes)] = evaluate_points(fn, grid.index_to_world(nodes.reshape(-1, 3)), chunk_size).reshape(
        nodes.shape[:3]
    )
    exact[np.ix_(*axes)] = True

    while step > 1:
        step //= 2
        fine_axes = [_lattice(n, step) for n in shape]
        corners = values[np.ix_(*axes)]  # (mx, my, mz) current lattice
        cells = _surface_cells(corners, threshold, near)
        rings = band if step > 1 else final_band
        if rings > 0 and cells.any():
            cells = ndimage.binary_dilation(cells, structure=np.ones((3, 3, 3), bool), iterations=rings)
        brackets = [_bracket(coarse, fine) for coarse, fine in zip(axes, fine_axes)]
        refine, fine = cells, corners
        for axis, (lo, hi, weight, first, last) in enumerate(brackets):  # separable, one axis at a time
            refine = np.take(refine, first, axis=axis) | np.take(refine, last, axis=axis)
            w = weight.reshape([-1 if a == axis else 1 for a in range(3)])
            low = np.take(fine, lo, axis=axis)
            fine = low + w * (np.take(fine, hi, axis=axis) - low)
        fine_index = _lattice_index(fine_axes, shape)
        was_exact = exact[fine_index]
        fine = np.where(was_exact, values[fine_index], fine)
        todo = np.nonzero(refine & ~was_exact)
        if len(todo[0]):
            indices = np.stack([fine_axes[a][todo[a]] for a in range(3)], axis=-1)
            fine[todo] = evaluate_points(fn, grid.index_to_world(indices), chunk_size)
        values[fine_index] = fine
        exact[fine_index] |= refine
        logger.debug("octree step %d: %d surface cells, %d new queries", step, int(cells.sum()), len(todo[0]))
        axes = fine_axes
    _close_crossings(fn, grid, values, exact, threshold, chunk_size)
    return values


def _close_crossings(fn: OccupancyFn, grid: VoxelGrid, values: np.ndarray, exact: np.ndarray, threshold: float,
                     chunk_size: int) -> None:  # fmt: skip
    """Evaluate, in place, every interpolated sample at an end of a grid edge that crosses `threshold` (the grid's
    exterior counts as exact and outside), repeatedly, until no such sample is left."""
    passes = 0
    while True:
        inside = np.pad(values > threshold, 1, constant_values=False)
        known = np.pad(exact, 1, constant_values=True)
        needed = np.zeros_like(inside)
        for axis in range(3):
            low = tuple(slice(None, -1) if a == axis else slice(None) for a in range(3))
            high = tuple(slice(1, None) if a == axis else slice(None) for a in range(3))
            crossing = inside[low] != inside[high]
            needed[low] |= crossing & ~known[low]
            needed[high] |= crossing & ~known[high]
        todo = np.nonzero(needed[1:-1, 1:-1, 1:-1])
        if not len(todo[0]):
            break
        values[todo] = evaluate_points(fn, grid.index_to_world(np.stack(todo, axis=-1)), chunk_size)
        exact[todo] = True
        passes += 1
    logger.debug("octree closing: %d passes", passes)


def _main_components(vertices: np.ndarray, faces: np.ndarray, anchors: np.ndarray | None,
                     anchor_distance: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The connected part (through shared vertices) with the most faces and the parts with a vertex within
    `anchor_distance` of an anchor point ((K, 3) or None), vertices re-indexed."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(vertices)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    face_labels = labels[faces[:, 0]]
    kept = np.zeros(count, bool)
    kept[np.bincount(face_labels).argmax()] = True
    if anchors is not None and len(anchors):
        distance, _ = cKDTree(np.asarray(anchors, np.float64)).query(vertices, distance_upper_bound=anchor_distance)
        kept[np.unique(labels[np.isfinite(distance)])] = True
    keep_faces = kept[face_labels]
    used = np.unique(faces[keep_faces])
    remap = np.full(n, -1, np.int64)
    remap[used] = np.arange(len(used))
    return vertices[used], remap[faces[keep_faces]]


def extract_mesh(
    volume: np.ndarray,
    grid: VoxelGrid,
    threshold: float = 0.5,
    close_boundary: bool = True,
    largest_component: bool = False,
    smooth_iterations: int = 0,
    anchors: np.ndarray | None = None,
    anchor_distance: float = 0.05,
) -> Mesh:
    """The `threshold` iso-surface of `volume` (inside above it) by marching cubes (PyMCubes), in world metres.

    Args:
        volume: (nx, ny, nz) values on `grid`'s samples (axis order x, y, z).
        grid: the grid the volume was evaluated on.
        threshold: iso-value.
        close_boundary: pad the volume with an outside value (threshold - 1), so that a shape cut by the
            grid's box gets closing faces up to one voxel beyond the box and the mesh stays watertight.
        largest_component: keep only the connected component with the most faces and those with a vertex within
            `anchor_distance` metres of one of the `anchors` ((K, 3) world points, e.g. the body's vertices).
        smooth_iterations: Taubin smoothing iterations (0 = none, the default).

    Returns:
        Mesh with faces counter-clockwise seen from outside (normals point out of the occupied region);
        no faces when the volume does not cross the threshold.
    """
    import mcubes

    volume = np.asarray(volume)
    if volume.shape != grid.shape:
        raise MeshingError(
            f"extract_mesh: argument 'volume': expected the grid's shape {grid.shape}, got {volume.shape}"
        )
    offset = 0
    if close_boundary:
        volume = np.pad(volume, 1, constant_values=threshold - 1.0)
        offset = 1
    vertices, faces = mcubes.marching_cubes(np.ascontiguousarray(volume, dtype=np.float64), float(threshold))
    faces = faces.astype(np.int64)  # PyMCubes winds counter-clockwise around the side above the threshold
    if len(faces) == 0:
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64))
    vertices = grid.index_to_world(vertices - offset)
    if largest_component:
        vertices, faces = _main_components(vertices, faces, anchors, anchor_distance)
    if smooth_iterations:
        import trimesh

        smoothed = trimesh.Trimesh(vertices, faces, process=False)
        trimesh.smoothing.filter_taubin(smoothed, iterations=smooth_iterations)
        vertices = np.asarray(smoothed.vertices)
    return Mesh(vertices, faces)


class _CountingFn:
    """Wraps an OccupancyFn and counts the points it was asked about."""

    def __init__(self, fn: OccupancyFn) -> None:
        self.fn = fn
        self.queries = 0

    def __call__(self, points: np.ndarray) -> np.ndarray:
        self.queries += len(points)
        return self.fn(points)


def reconstruct_mesh(
    fn: OccupancyFn, grid: VoxelGrid, config: MeshingConfig = MeshingConfig(), anchors: np.ndarray | None = None
) -> tuple[Mesh, MeshingStats]:
    """Evaluate `fn` on `grid` (octree or dense, per `config`) and mesh its iso-surface in world metres.

    `anchors` ((K, 3) world points, e.g. the person's body vertices): smaller components near them survive
    `config.largest_component` (a limb the coarse grid cut off stays, a blob away from the person goes).

    Returns:
        (mesh, stats): the Mesh (faces counter-clockwise from outside; none if nothing is inside) and the
        query counts and timings.
    """
    counting = _CountingFn(fn)
    start = time.perf_counter()
    if config.octree:
        volume = evaluate_octree(
            counting, grid, config.coarse_resolution, config.threshold, config.coarse_step, config.band,
            config.chunk_size, final_band=config.final_band, near=config.near,
        )  # fmt: skip
    else:
        volume = evaluate_dense(counting, grid, config.chunk_size)
    evaluated = time.perf_counter()
    mesh = extract_mesh(volume, grid, config.threshold, config.close_boundary, config.largest_component,
                        config.smooth_iterations, anchors, config.anchor_distance)  # fmt: skip
    stats = MeshingStats(counting.queries, grid.num_points, evaluated - start, time.perf_counter() - evaluated)
    logger.info(
        "meshed %s: %d faces, %d queries (%.1f%% of dense), %.2f s",
        grid, mesh.num_faces, stats.queries, 100.0 * stats.query_fraction, stats.total_seconds,
    )  # fmt: skip
    return mesh, stats
