"""The window mean of warped signed distances (Eq. 10): windows, weights, skipping, and motion compensation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion import FusionConfig, FusionError, PersonFrame, PersonFuser, fuse_sequence, window_frames
from render.mesh import Mesh
from render.primitives import icosphere

CONFIG = FusionConfig(voxel_size_m=0.01)


def radii(mesh: Mesh, center) -> np.ndarray:
    return np.linalg.norm(mesh.vertices - np.asarray(center), axis=1)


@pytest.fixture(scope="module")
def still_body(anny_body):
    """One body output, the same in every frame (so warps are the identity)."""
    with torch.no_grad():
        return anny_body(anny_body.neutral_params(()))


def test_window_frames_shrink_at_the_ends_and_skip_gaps():
    assert window_frames(5, 3, range(10)) == [5, 4, 6]
    assert window_frames(0, 3, range(10)) == [0, 1]
    assert window_frames(9, 3, range(10)) == [9, 8]
    assert window_frames(5, 3, [3, 5, 7]) == [5]
    assert window_frames(5, 5, [3, 5, 7]) == [5, 3, 7]
    assert window_frames(5, 1, range(10)) == [5]


def test_weighted_mean_of_concentric_spheres(anny_body, still_body):
    """SDFs |x| - r_i averaged with weights w_i vanish at |x| = sum w_i r_i / sum w_i (Eq. 10 with weights)."""
    center = still_body.joints[0].double().numpy()
    frames = {
        0: PersonFrame(icosphere(0.20, center, subdivisions=5), still_body, confidence=1.0),
        1: PersonFrame(icosphere(0.24, center, subdivisions=5), still_body, confidence=3.0),
        2: PersonFrame(icosphere(0.40, center, subdivisions=5), still_body, confidence=0.0),  # left out
    }
    result = PersonFuser(anny_body, CONFIG).fuse(1, frames)
    assert result.frames == (1, 0) and result.weights == (3.0, 1.0)
    assert abs(np.median(radii(result.mesh, center)) - 0.23) < 1e-3


def test_sequence_ends_and_absent_frames(anny_body, still_body):
    center = still_body.joints[0].double().numpy()
    sphere = lambda r: PersonFrame(icosphere(r, center, subdivisions=4), still_body)  # noqa: E731
    frames = {0: sphere(0.20), 1: sphere(0.22), 3: sphere(0.30)}  # absent in frame 2
    results = fuse_sequence(anny_body, frames, CONFIG)
    assert sorted(results) == [0, 1, 3]
    assert results[0].frames == (0, 1) and results[1].frames == (1, 0) and results[3].frames == (3,)
    assert abs(np.median(radii(results[0].mesh, center)) - 0.21) < 2e-3
    assert abs(np.median(radii(results[3].mesh, center)) - 0.30) < 2e-3
    with pytest.raises(FusionError, match="expected a frame with a reconstruction, got 2"):
        PersonFuser(anny_body, CONFIG).fuse(2, frames)


def test_independent_noise_is_averaged_out(anny_body, still_body):
    """Three frames with independent bumps: the fused surface is closer to the true sphere than any input."""
    center = still_body.joints[0].double().numpy()
    base = icosphere(0.25, center, subdivisions=5)
    unit = (base.vertices - center) / 0.25
    frames = {}
    for t in range(3):
        rng = np.random.default_rng(t)
        direction = rng.normal(size=(6, 3))
        bumps = 0.012 * np.sin(unit @ (4.0 * direction).T + rng.uniform(0, 6.3, 6)).mean(1) * np.sqrt(6)
        frames[t] = PersonFrame(Mesh(center + unit * (0.25 + bumps)[:, None], base.faces), still_body)
    fused = PersonFuser(anny_body, CONFIG).fuse(1, frames).mesh
    error = lambda mesh: float(np.abs(radii(mesh, center) - 0.25).mean())  # noqa: E731
    assert error(fused) < 0.7 * min(error(f.mesh) for f in frames.values())


def test_moving_body_is_warped_into_the_frame(anny_body, posed):
    """Each frame's mesh is the body itself in that frame's pose: fusing at t gives the body at t, and fusing
    without motion compensation (every frame given t's body) does not."""
    bodies = [posed(anny_body, seed=s, scale=0.15) for s in (10, 11, 12)]
    meshes = [Mesh(b.vertices.double().numpy(), b.faces.numpy()) for b in bodies]
    config = FusionConfig(voxel_size_m=0.02, truncation_voxels=2.0)
    warped = PersonFuser(anny_body, config).fuse(1, {t: PersonFrame(meshes[t], bodies[t]) for t in range(3)})
    static = PersonFuser(anny_body, config).fuse(1, {t: PersonFrame(meshes[t], bodies[1]) for t in range(3)})

    def distance_to_target(mesh: Mesh) -> float:
        from fusion.warp import closest_triangles

        ids, bary = closest_triangles(meshes[1].vertices, meshes[1].faces, mesh.vertices)
        closest = np.einsum("mc,mcd->md", bary, meshes[1].vertices[meshes[1].faces[ids]])
        return float(np.linalg.norm(closest - mesh.vertices, axis=1).mean())

    assert distance_to_target(warped.mesh) < 0.005
    assert distance_to_target(static.mesh) > 1.5 * distance_to_target(warped.mesh)


def test_config_errors():
    with pytest.raises(FusionError, match="window: expected an odd number"):
        FusionConfig(window=2)
    with pytest.raises(FusionError, match="voxel_size_m: expected > 0"):
        FusionConfig(voxel_size_m=0.0)
