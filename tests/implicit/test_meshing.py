"""VoxelGrid conventions, octree evaluation against dense evaluation, and marching cubes output."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.special import expit

from implicit.grid import GridError, VoxelGrid
from implicit.meshing import (
    MeshingConfig,
    MeshingError,
    coarse_step_for,
    evaluate_dense,
    evaluate_octree,
    evaluate_points,
    extract_mesh,
    reconstruct_mesh,
)
from render.mesh import vertex_normals

CENTRE = np.array([0.1, -0.2, 0.9])
RADIUS = 0.37


def sphere_occupancy(centre=CENTRE, radius=RADIUS, sharpness_m=0.01):
    """An occupancy function: a sigmoid of the signed distance to a sphere (0.5 exactly on it)."""

    def fn(points: np.ndarray) -> np.ndarray:
        distance = np.linalg.norm(points - np.asarray(centre), axis=1) - radius
        return expit(-distance / sharpness_m)

    return fn


def sphere_grid(resolution: int) -> VoxelGrid:
    return VoxelGrid.for_points(np.array([CENTRE - RADIUS, CENTRE + RADIUS]), margin_m=0.05, resolution=resolution)


# --- grid ---------------------------------------------------------------------------------------------


def test_convention_corner_sampling_and_c_order():
    grid = VoxelGrid(minimum=(1.0, 2.0, 3.0), voxel_size=0.5, resolution=(3, 4, 5))
    points = grid.points()
    assert points.shape == (60, 3)
    np.testing.assert_allclose(points[0], [1.0, 2.0, 3.0])  # first sample exactly at the minimum
    np.testing.assert_allclose(points[-1], grid.maximum)
    np.testing.assert_allclose(grid.maximum, [2.0, 3.5, 5.0])
    # a volume made from points() and reshaped to grid.shape is indexed [i, j, k] = (x, y, z)
    volume = points[:, 0].reshape(grid.shape)  # world x
    assert np.all(np.diff(volume, axis=0) > 0) and np.all(np.diff(volume, axis=1) == 0)
    np.testing.assert_allclose(volume[2, 0, 0], 2.0)  # the misreading (k fastest = x) would give 1.0
    np.testing.assert_allclose(grid.index_to_world([2, 3, 4]), grid.maximum)
    np.testing.assert_allclose(grid.world_to_index(grid.index_to_world([[0.5, 1.25, 3.0]])), [[0.5, 1.25, 3.0]])
    np.testing.assert_allclose(grid.axes()[1], [2.0, 2.5, 3.0, 3.5])


def test_for_points_covers_points_with_margin():
    rng = np.random.default_rng(0)
    points = rng.uniform([-0.3, -0.2, 0.0], [0.3, 0.25, 1.8], size=(500, 3))
    grid = VoxelGrid.for_points(points, margin_m=0.1, resolution=128)
    assert max(grid.resolution) == 128 and grid.resolution[2] == 128  # z is the longest side
    assert np.all(grid.minimum <= points.min(0) - 0.1 + 1e-9)
    assert np.all(grid.maximum >= points.max(0) + 0.1 - 1e-9)
    np.testing.assert_allclose(grid.voxel_size, (points[:, 2].ptp() + 0.2) / 127)
    np.testing.assert_allclose(0.5 * (grid.minimum + grid.maximum), 0.5 * (points.min(0) + points.max(0)), atol=1e-12)

    fixed = VoxelGrid.for_points(points, margin_m=0.0, voxel_size=0.01)
    assert fixed.voxel_size == 0.01
    assert np.all(fixed.maximum - fixed.minimum >= points.ptp(0) - 1e-12)
    assert np.all(fixed.maximum - fixed.minimum < points.ptp(0) + 0.01)


def test_grid_errors_name_the_argument():
    with pytest.raises(GridError, match="resolution"):
        VoxelGrid((0, 0, 0), 0.1, (1, 4, 4))
    with pytest.raises(GridError, match="voxel_size"):
        VoxelGrid((0, 0, 0), -0.1, (4, 4, 4))
    with pytest.raises(GridError, match=r"points.*\(N >= 1, 3\)"):
        VoxelGrid.for_points(np.zeros((5, 2)))
    with pytest.raises(GridError, match="margin"):
        VoxelGrid.for_points(np.zeros((1, 3)), margin_m=0.0)


# --- marching cubes -------------------------------------------------------------------------------------


def test_sphere_mesh_radius_watertight_and_outward():
    grid = sphere_grid(64)
    mesh, stats = reconstruct_mesh(sphere_occupancy(), grid)
    radii = np.linalg.norm(mesh.vertices - CENTRE, axis=1)
    assert np.abs(radii - RADIUS).max() < 0.5 * grid.voxel_size
    assert trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).is_watertight
    outward = np.einsum("ij,ij->i", vertex_normals(mesh.vertices, mesh.faces), mesh.vertices - CENTRE)
    assert np.all(outward > 0)
    assert stats.dense_queries == 64**3 and 0 < stats.queries < stats.dense_queries


def test_surface_cut_by_the_grid_is_closed_only_with_close_boundary():
    grid = VoxelGrid((0.0, 0.0, 0.0), 0.05, (20, 20, 20))
    slab = lambda p: (p[:, 2] < 0.5).astype(np.float32)  # noqa: E731  everything below z = 0.5 is inside
    volume = evaluate_dense(slab, grid)
    closed = extract_mesh(volume, grid)
    opened = extract_mesh(volume, grid, close_boundary=False)
    assert trimesh.Trimesh(closed.vertices, closed.faces).is_watertight
    assert not trimesh.Trimesh(opened.vertices, opened.faces).is_watertight
    assert closed.vertices.min(0)[0] >= grid.minimum[0] - grid.voxel_size  # closing faces within a voxel
    assert trimesh.Trimesh(closed.vertices, closed.faces).volume > 0  # outward winding


def test_largest_component_drops_the_small_blob():
    grid = VoxelGrid((-1.0, -1.0, -1.0), 0.04, (51, 51, 51))
    big, small = sphere_occupancy((-0.4, 0, 0), 0.41), sphere_occupancy((0.6, 0, 0), 0.15)
    volume = evaluate_dense(lambda p: np.maximum(big(p), small(p)), grid)
    both = extract_mesh(volume, grid)
    largest = extract_mesh(volume, grid, largest_component=True)
    assert largest.num_faces < both.num_faces
    assert np.all(largest.vertices[:, 0] < 0.05)
    assert largest.faces.max() == largest.num_vertices - 1
    assert trimesh.Trimesh(largest.vertices, largest.faces).is_watertight
    # a part near the anchors (the person's body) stays; anchors far from it change nothing
    near_blob = extract_mesh(volume, grid, largest_component=True, anchors=np.array([[0.6, 0.0, 0.17]]))
    assert near_blob.num_faces == both.num_faces
    far = extract_mesh(volume, grid, largest_component=True, anchors=np.array([[0.6, 0.0, 0.3]]), anchor_distance=0.05)
    assert far.num_faces == largest.num_faces


def test_smoothing_keeps_the_shape():
    grid = sphere_grid(40)
    mesh, _ = reconstruct_mesh(sphere_occupancy(sharpness_m=1e-4), grid, MeshingConfig(smooth_iterations=10))
    rough, _ = reconstruct_mesh(sphere_occupancy(sharpness_m=1e-4), grid)
    error = lambda m: np.abs(np.linalg.norm(m.vertices - CENTRE, axis=1) - RADIUS)  # noqa: E731
    assert error(mesh).mean() < error(rough).mean()


def test_empty_volume_gives_an_empty_mesh():
    grid = VoxelGrid((0.0, 0.0, 0.0), 0.1, (8, 8, 8))
    mesh, stats = reconstruct_mesh(lambda p: np.zeros(len(p)), grid)
    assert mesh.num_faces == 0 and mesh.num_vertices == 0
    assert stats.queries == 8**3  # coarse lattice is the whole grid; nothing to refine


# --- octree ---------------------------------------------------------------------------------------------


def test_coarse_step():
    assert coarse_step_for((256, 256, 256), 32) == 8
    assert coarse_step_for((128, 100, 90), 32) == 4
    assert coarse_step_for((20, 20, 20), 32) == 1


@pytest.mark.parametrize("resolution", [64, 128])
def test_octree_matches_dense_with_far_fewer_queries(resolution):
    grid = sphere_grid(resolution)
    fn = sphere_occupancy()
    octree_mesh, octree_stats = reconstruct_mesh(fn, grid)
    dense_mesh, dense_stats = reconstruct_mesh(fn, grid, MeshingConfig(octree=False))
    assert dense_stats.queries == grid.num_points
    assert octree_mesh.vertices.shape == dense_mesh.vertices.shape
    np.testing.assert_allclose(octree_mesh.vertices, dense_mesh.vertices, atol=1e-6)
    np.testing.assert_array_equal(octree_mesh.faces, dense_mesh.faces)
    if resolution == 128:
        assert octree_stats.query_fraction < 0.30


def test_octree_on_an_unaligned_grid_with_surface_at_its_edge():
    """Lattices whose last cell is shorter (n - 1 not a multiple of the step), surface crossing the border."""
    grid = VoxelGrid((0.0, 0.0, 0.0), 0.01, (70, 50, 61))
    fn = sphere_occupancy(centre=(0.55, 0.4, 0.45), radius=0.2)
    octree = evaluate_octree(fn, grid, coarse_step=8)
    dense = evaluate_dense(fn, grid)
    surface = extract_mesh(dense, grid)
    np.testing.assert_allclose(extract_mesh(octree, grid).vertices, surface.vertices, atol=1e-6)
    # everywhere, octree values lie on the same side of the threshold as the true values
    np.testing.assert_array_equal(octree > 0.5, dense > 0.5)


def test_closing_pass_follows_a_thin_rod_the_coarse_levels_missed():
    """A rod 1.5 voxels thick out of a sphere, between the coarse samples: no safety band at any level and no
    `near` refinement, yet the closing pass follows it sample by sample from where it leaves the sphere, so the mesh
    equals the dense one."""
    grid = sphere_grid(64)
    sphere = sphere_occupancy()
    axis_y, axis_z = grid.index_to_world([0, 35, 35])[1:]  # between the lattice samples 32 and 40 (step 8)

    def sphere_and_rod(points: np.ndarray) -> np.ndarray:
        rod = 0.015 - np.hypot(points[:, 1] - axis_y, points[:, 2] - axis_z)
        rod = np.minimum(rod, CENTRE[0] + RADIUS + 0.03 - points[:, 0])  # sticks 3 cm out of the sphere
        return np.maximum(sphere(points), expit(rod / 0.01))

    dense = evaluate_dense(sphere_and_rod, grid)
    octree = evaluate_octree(sphere_and_rod, grid, coarse_step=8, band=0, final_band=0, near=0.0)
    np.testing.assert_array_equal(octree > 0.5, dense > 0.5)
    dense_mesh, octree_mesh = extract_mesh(dense, grid), extract_mesh(octree, grid)
    np.testing.assert_array_equal(octree_mesh.faces, dense_mesh.faces)
    np.testing.assert_allclose(octree_mesh.vertices, dense_mesh.vertices, atol=1e-6)


def test_cells_with_corners_near_the_threshold_are_refined():
    """A one-sample island (inside only at sample (33, 33, 33)) leaves every lattice corner around it at about
    0.45: with `near` = 0 it is interpolated away, with `near` = 0.1 it is evaluated and meshed as densely."""
    grid = sphere_grid(64)
    centre, voxel = grid.index_to_world([33, 33, 33]), grid.voxel_size
    island = sphere_occupancy(centre=centre, radius=0.5 * voxel, sharpness_m=6.15 * voxel)
    dense = evaluate_dense(island, grid)
    assert (dense > 0.5).sum() == 1
    missed = evaluate_octree(island, grid, coarse_step=8, band=0, final_band=0, near=0.0)
    assert not (missed > 0.5).any()
    found = evaluate_octree(island, grid, coarse_step=8, band=0, final_band=0, near=0.1)
    np.testing.assert_array_equal(found > 0.5, dense > 0.5)
    assert extract_mesh(found, grid).num_faces == extract_mesh(dense, grid).num_faces == 8


def test_octree_refines_only_near_the_surface():
    grid = sphere_grid(64)
    asked = []

    def fn(points):
        asked.append(points)
        return sphere_occupancy()(points)

    evaluate_octree(fn, grid, coarse_step=8, band=1, chunk_size=5000)
    assert max(len(p) for p in asked) <= 5000  # chunked
    points = np.concatenate(asked)
    coarse = 9**3  # first lattice: 0, 8, ..., 56, 63 on each axis
    distance = np.abs(np.linalg.norm(points[coarse:] - CENTRE, axis=1) - RADIUS)
    # refined samples lie within the surface cells plus the band: (1 + band) coarse cells, diagonally
    assert distance.max() < 2 * 8 * grid.voxel_size * np.sqrt(3)
    assert len(np.unique(points, axis=0)) == len(points)  # no sample is asked twice


def test_bad_occupancy_output_is_reported():
    grid = VoxelGrid((0.0, 0.0, 0.0), 0.1, (4, 4, 4))
    with pytest.raises(MeshingError, match=r"expected shape \(64,\)"):
        evaluate_dense(lambda p: np.zeros((len(p), 1)), grid)
    with pytest.raises(MeshingError, match="finite"):
        evaluate_points(lambda p: np.full(len(p), np.nan), np.zeros((3, 3)))
    with pytest.raises(MeshingError, match="power of two"):
        MeshingConfig(coarse_step=6)
    with pytest.raises(MeshingError, match="volume"):
        extract_mesh(np.zeros((3, 3, 3)), grid)
