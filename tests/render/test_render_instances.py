"""Several meshes in one z-buffer: the nearer one wins, ids name the right mesh and face."""

from __future__ import annotations

import numpy as np

from render import render
from render.primitives import box, icosphere, look_at_camera


def test_nearer_mesh_wins_where_two_overlap(taichi_arch):
    cameras = [look_at_camera(name, (0.0, y, 1.0), (0.0, 0.0, 1.0), 96) for name, y in (("a", -3.0), ("b", 3.0))]
    near_a = icosphere(0.3, center=(0.0, -0.4, 1.0))  # nearer to camera a, farther from camera b
    near_b = box((0.8, 0.2, 0.8), center=(0.1, 0.3, 1.0))
    together = render([near_a, near_b], cameras)
    alone = [render(mesh, cameras) for mesh in (near_a, near_b)]
    both = alone[0].mask & alone[1].mask
    assert both[0].sum() > 200 and both[1].sum() > 200  # they really overlap in both views
    nearest = np.argmin(np.stack([alone[0].depth, alone[1].depth]), axis=0)
    covered = together.mask
    assert np.array_equal(covered, alone[0].mask | alone[1].mask)
    assert np.array_equal(together.instance_id[covered], nearest[covered])
    assert np.array_equal(together.depth, np.minimum(alone[0].depth, alone[1].depth))
    assert (together.instance_id[0][both[0]] == 0).all()  # the sphere hides the box from camera a
    assert (together.instance_id[1][both[1]] == 1).all()  # the box hides the sphere from camera b
    # triangle ids are per mesh: the same as when the winning mesh is rendered alone
    for instance in (0, 1):
        won = together.instance_id == instance
        assert np.array_equal(together.triangle_id[won], alone[instance].triangle_id[won])


def test_empty_pixels_are_encoded_as_documented(scene):
    out = scene.output
    empty = ~out.mask
    assert empty.any() and out.mask.any()
    assert np.array_equal(out.mask, out.triangle_id >= 0)
    assert np.isposinf(out.depth[empty]).all() and np.isfinite(out.depth[out.mask]).all()
    assert (out.instance_id[empty] == -1).all() and (out.triangle_id[empty] == -1).all()
    assert (out.barycentric[empty] == 0).all() and (out.normal[empty] == 0).all()
    assert (out.rgb[empty] == 0).all()  # the default black background
    assert out.depth.dtype == np.float32 and out.instance_id.dtype == np.int32 and out.mask.dtype == bool
    for mesh_index, mesh in enumerate(scene.meshes):
        ids = out.triangle_id[out.instance_id == mesh_index]
        assert ids.min() >= 0 and ids.max() < mesh.num_faces
