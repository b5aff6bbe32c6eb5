"""The visual hull from rendered masks: contains the true shape, bounded volume, distortion and 'unknown' pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import trimesh

from calibration.camera import Camera
from calibration.ring_rig import ring_rig
from implicit.grid import VoxelGrid
from implicit.meshing import MeshingConfig, evaluate_dense
from implicit.visual_hull import VisualHull, VisualHullError, visual_hull_mesh
from render import Mesh, render
from render.primitives import box, icosphere, look_at_camera

SIZE = 256
CENTRE = np.array([0.05, 0.02, 0.9])
DISTORTED = 3  # index of the wide, distorted camera in `rig()`


def rig() -> list[Camera]:
    """A ring of 6 cameras 3.5 m away; camera 3 is a wide lens with strong barrel distortion, 2 m from the
    scene, aimed so that the scene sits off the image centre where the distortion moves pixels most."""
    cameras = list(ring_rig(6, radius=3.5, height=1.5, image_size=(SIZE, SIZE), fov_deg=50.0).cameras)
    direction = cameras[DISTORTED].center[:2] / np.linalg.norm(cameras[DISTORTED].center[:2])
    centre = np.array([*(2.0 * direction), 1.3])
    side = np.array([-direction[1], direction[0], 0.0])
    cameras[DISTORTED] = look_at_camera(
        "wide", centre, CENTRE + 0.9 * side, SIZE, focal_px=140.0, dist=np.array([-0.2, 0.03, 0.0, 0.0, 0.0])
    )
    return cameras


def subdivided(mesh: Mesh, max_edge: float = 0.05) -> Mesh:
    """Small triangles, so the rasterizer's straight edges follow the distortion (render's documented limit)."""
    vertices, faces = trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, max_edge=max_edge)
    return Mesh(vertices, faces)


SHAPES = {  # name -> mesh of the shape shrunk by `inset` metres on every side
    "sphere": lambda inset=0.0: icosphere(0.4 - inset, center=CENTRE, subdivisions=4),
    "box": lambda inset=0.0: subdivided(box(np.array([0.5, 0.3, 0.8]) - 2.0 * inset, center=CENTRE)),
}


@dataclass(frozen=True)
class Shape:
    name: str
    mesh: Mesh
    volume: float
    masks: np.ndarray  # (V, H, W) bool


def inner_samples(name: str, inset_m: float, count: int = 3000) -> np.ndarray:
    """(count, 3) points on the surface of shape `name` shrunk by `inset_m` (at least that deep inside it)."""
    inner = SHAPES[name](inset_m)
    points, _ = trimesh.sample.sample_surface(trimesh.Trimesh(inner.vertices, inner.faces), count, seed=0)
    return np.asarray(points)


@pytest.fixture(scope="module")
def cameras() -> list[Camera]:
    return rig()


@pytest.fixture(scope="module", params=sorted(SHAPES))
def shape(request, cameras) -> Shape:
    mesh = SHAPES[request.param]()
    volume = trimesh.Trimesh(mesh.vertices, mesh.faces).volume
    return Shape(request.param, mesh, volume, render([mesh], cameras).mask)


def contains(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """(N,) bool: points inside the watertight `mesh` (Open3D ray parity; trimesh.contains is 100x slower)."""
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor(np.ascontiguousarray(mesh.vertices, dtype=np.float32)),
        o3d.core.Tensor(np.ascontiguousarray(mesh.faces, dtype=np.uint32)),
    )
    return scene.compute_occupancy(o3d.core.Tensor(np.asarray(points, dtype=np.float32))).numpy() > 0.5


def footprint_m(cameras: list[Camera], points: np.ndarray) -> float:
    """Largest size in metres of one pixel at `points` over all views (distortion compresses up to 1.5x here)."""
    return max(1.5 * np.linalg.norm(c.world_to_camera(points)[:, 2:], axis=1).max() / c.K[0, 0] for c in cameras)


def test_hull_function_contains_the_shape_and_uses_the_distortion(cameras, shape):
    inset = footprint_m(cameras, shape.mesh.vertices)
    inside = inner_samples(shape.name, inset)
    hull = VisualHull(cameras, shape.masks)
    assert hull(inside).min() == 1.0
    # the same masks read through the wide camera without its distortion carve away much of the shape
    undistorted = [c.replace(dist=np.zeros(5)) if i == DISTORTED else c for i, c in enumerate(cameras)]
    assert (VisualHull(undistorted, shape.masks)(inside) == 0.0).mean() > 0.1


def test_hull_mesh_contains_the_shape_with_bounded_volume(cameras, shape):
    grid = VoxelGrid.for_points(shape.mesh.vertices, margin_m=0.1, resolution=64)
    mesh = visual_hull_mesh(cameras, shape.masks, None, grid)
    hull = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    assert hull.is_watertight and hull.volume > 0  # closed, outward faces
    inset = footprint_m(cameras, shape.mesh.vertices) + grid.voxel_size
    assert contains(mesh, inner_samples(shape.name, inset)).all()
    # six views around a convex shape: the hull exceeds it by the uncarved wedges, here by less than a third
    assert 1.0 < hull.volume / shape.volume < 1.33


def test_unknown_pixels_do_not_carve(cameras):
    sphere = icosphere(0.4, center=CENTRE, subdivisions=4)
    masks = render([sphere], cameras).mask
    view = 1
    rows, columns = np.nonzero(masks[view])
    r0, r1 = np.percentile(rows, [35, 65]).astype(int)
    c0, c1 = np.percentile(columns, [35, 65]).astype(int)
    assert masks[view, r0:r1, c0:c1].all()  # the pasted occluder lies inside the person's silhouette
    occluded = masks.copy()
    occluded[view, r0:r1, c0:c1] = False
    unknown = np.zeros_like(masks)
    unknown[view, r0:r1, c0:c1] = True

    grid = VoxelGrid.for_points(sphere.vertices, margin_m=0.1, resolution=40)
    reference = evaluate_dense(VisualHull(cameras, masks), grid)
    np.testing.assert_array_equal(evaluate_dense(VisualHull(cameras, occluded, unknown), grid), reference)
    carved = evaluate_dense(VisualHull(cameras, occluded), grid)  # the occluder taken as background
    assert carved.sum() < 0.9 * reference.sum()


def test_rendered_occluder_in_front_does_not_carve(cameras):
    person = SHAPES["sphere"]()
    toward_camera = cameras[0].center - CENTRE
    toward_camera[2] = 0.0
    toward_camera /= np.linalg.norm(toward_camera)
    occluder = subdivided(box((0.3, 0.3, 0.3), center=CENTRE + 1.2 * toward_camera + (0, 0, 0.1)))
    out = render([person, occluder], cameras)
    masks, unknown = out.instance_id == 0, out.instance_id == 1
    assert (unknown & render([person], cameras).mask).sum() > 500  # the occluder hides part of the person

    inside = inner_samples("sphere", footprint_m(cameras, person.vertices))
    assert VisualHull(cameras, masks, unknown)(inside).min() == 1.0
    assert (VisualHull(cameras, masks)(inside) == 0.0).mean() > 0.05


def test_points_seen_by_no_view_are_outside_and_soft_votes(cameras):
    masks = np.ones((6, SIZE, SIZE), bool)  # everything in every image is foreground
    hull, soft = VisualHull(cameras, masks), VisualHull(cameras, masks, soft=True)
    far = np.array([[0.0, 0.0, 50.0], [0.0, 0.0, -50.0], [0.3, -0.2, 30.0]])  # above and below the ring
    np.testing.assert_array_equal(hull(far), 0.0)
    np.testing.assert_array_equal(soft(far), 0.0)
    assert hull(CENTRE[None]).item() == 1.0

    masks[2] = False  # view 2 sees only background: it carves every point it sees
    seeing, carving = VisualHull(cameras, masks).votes(CENTRE[None])
    assert (seeing.item(), carving.item()) == (6, 1)
    assert VisualHull(cameras, masks)(CENTRE[None]).item() == 0.0
    assert VisualHull(cameras, masks, soft=True)(CENTRE[None]).item() == pytest.approx(5 / 6)


def test_nearest_pixel_convention(cameras):
    """A mask of one pixel keeps exactly the points whose projection rounds to it (centres at integers)."""
    camera = cameras[0]
    masks = np.zeros((1, SIZE, SIZE), bool)
    masks[0, 100, 60] = True
    depth = 3.0
    offsets = np.array([[0.0, 0.0], [0.49, -0.49], [0.51, 0.0], [0.0, -0.51]])  # (dx, dy) pixels from (60, 100)
    pixels = np.array([60.0, 100.0]) + offsets
    rays = np.linalg.solve(camera.K, np.c_[pixels, np.ones(len(pixels))].T).T  # undistorted camera
    points = (rays * depth - camera.t) @ camera.R  # camera -> world
    np.testing.assert_allclose(camera.project(points), pixels, atol=1e-9)
    np.testing.assert_array_equal(VisualHull([camera], masks)(points), [1.0, 1.0, 0.0, 0.0])


def test_bad_masks_are_reported(cameras):
    with pytest.raises(VisualHullError, match="expected 6 views"):
        VisualHull(cameras, np.zeros((5, SIZE, SIZE), bool))
    with pytest.raises(VisualHullError, match=r"expected shape \(H, W\) = \(256, 256\)"):
        VisualHull(cameras, np.zeros((6, SIZE, SIZE + 1), bool))
    with pytest.raises(VisualHullError, match="bool"):
        VisualHull(cameras, np.zeros((6, SIZE, SIZE), np.uint8))
    with pytest.raises(VisualHullError, match="unknown"):
        VisualHull(cameras, np.zeros((6, SIZE, SIZE), bool), np.zeros((6, 2, 2), bool))
    with pytest.raises(VisualHullError, match="points"):
        VisualHull(cameras, np.zeros((6, SIZE, SIZE), bool)).votes(np.zeros((4, 2)))


def test_octree_hull_equals_dense_hull(cameras):
    sphere = icosphere(0.4, center=CENTRE, subdivisions=3)
    masks = render([sphere], cameras).mask
    grid = VoxelGrid.for_points(sphere.vertices, margin_m=0.1, resolution=64)
    octree = visual_hull_mesh(cameras, masks, None, grid, config=MeshingConfig(coarse_step=8))
    dense = visual_hull_mesh(cameras, masks, None, grid, config=MeshingConfig(octree=False))
    np.testing.assert_array_equal(octree.vertices, dense.vertices)
    np.testing.assert_array_equal(octree.faces, dense.faces)
