"""Cameras of different image sizes in the implicit stage: each view keeps its own size through the network's
crops and the reconstruction (a rig of a square, a landscape and a portrait camera cut from capsule views)."""

from __future__ import annotations

import numpy as np
import pytest

from implicit.config import tiny_config
from implicit.dataset import build_person_inputs, crop_person
from implicit.model import DeepMultiCap
from implicit.neighbours import SignedDistance
from implicit.reconstruct import PersonViews, ReconstructionConfig, ReconstructionError, reconstruct_person
from synth.capsules import capsule_scene

CUTS = ((slice(None), slice(None)), (slice(24, 104), slice(None)), (slice(None), slice(32, 96)))
"""(rows, cols) kept of each 128 x 128 view: the whole view, a 128 x 80 landscape band, a 64 x 128 portrait band."""


@pytest.fixture(scope="module")
def mixed():
    """(cameras, images, person_mask, unobserved, body) of person 0, each view cut to its band of CUTS."""
    sample = capsule_scene(people=2, views=3, size=128, sections=16)[0]
    cameras, images, masks, unobserved = [], [], [], []
    for v, (rows, cols) in enumerate(CUTS):
        camera = sample.cameras[v]
        K = camera.K.copy()
        K[0, 2] -= cols.start or 0
        K[1, 2] -= rows.start or 0
        height, width = sample.images[v][rows, cols].shape[:2]
        cameras.append(camera.replace(K=K, width=width, height=height))
        images.append(sample.images[v][rows, cols])
        masks.append(sample.person_mask[v][rows, cols])
        unobserved.append(sample.unobserved[v][rows, cols])
    return cameras, images, masks, unobserved, sample.body


def test_the_views_have_three_sizes(mixed):
    cameras = mixed[0]
    assert [c.image_size for c in cameras] == [(128, 128), (128, 80), (64, 128)]


def test_each_view_is_cropped_as_if_it_were_alone(mixed):
    cameras, images, masks, unobserved, body = mixed
    together = crop_person(cameras, images, masks, unobserved, body, 32, 0.1)
    for v in range(3):
        alone = crop_person(cameras[v:v + 1], images[v:v + 1], masks[v:v + 1], unobserved[v:v + 1], body, 32, 0.1)
        for name in ("images", "masks", "unobserved", "body_normals"):
            np.testing.assert_array_equal(getattr(together, name)[v], getattr(alone, name)[0])
        assert together.masks[v].any() and together.body_normals[v].any()


def test_the_visual_hull_of_mixed_sizes_holds_the_body(mixed):
    cameras, images, masks, unobserved, body = mixed
    result = reconstruct_person(PersonViews(cameras, images, masks, unobserved), body, None, ReconstructionConfig(resolution=32))
    assert result.mesh.num_faces > 0
    assert (SignedDistance(result.mesh)(body.vertices) < result.grid.voxel_size).all()


def test_the_network_takes_mixed_sizes(mixed):
    cameras, images, masks, unobserved, body = mixed
    config = tiny_config()
    inputs, _, _ = build_person_inputs(cameras, images, masks, unobserved, body, config)
    assert tuple(inputs.images.shape) == (1, 3, 3, 32, 32)
    result = reconstruct_person(PersonViews(cameras, images, masks, unobserved), body, None,
                                ReconstructionConfig(resolution=16), DeepMultiCap(config).eval())  # fmt: skip
    assert max(result.grid.resolution) == 16
    assert result.mesh.num_faces == 0 or (result.mesh.vertices >= result.grid.minimum - result.grid.voxel_size).all()


def test_a_view_of_another_size_than_its_camera_is_named(mixed):
    cameras, images, masks, unobserved, _ = mixed
    with pytest.raises(ReconstructionError, match=rf"PersonViews.images, camera {cameras[2].name}: expected \(128, 64, 3\)"):
        PersonViews(cameras, [images[0], images[1], images[0]], masks, unobserved)
