"""implicit.reconstruct: one person's reconstruction (grid, occupancy, neighbour rule, meshing) and the record the
implicit stage keeps beside each mesh."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from implicit.config import tiny_config
from implicit.dataset import build_person_inputs
from implicit.model import DeepMultiCap
from implicit.neighbours import SignedDistance
from implicit.reconstruct import (
    DEFAULT_GRID_MARGIN_M,
    PersonViews,
    ReconstructionConfig,
    ReconstructionError,
    mesh_record_path,
    read_voxel_size,
    reconstruct_person,
    write_mesh_record,
)
from synth.capsules import capsule_scene
from render.mesh import Mesh

RESOLUTION = 40


@pytest.fixture(scope="module")
def sample():
    """Person 0 of two capsule people, 3 views of 64 x 64."""
    return capsule_scene(people=2, views=3, size=64, sections=16)[0]


@pytest.fixture(scope="module")
def views(sample) -> PersonViews:
    return PersonViews(sample.cameras, sample.images, sample.person_mask, sample.unobserved)


def body_mesh(sample, shift=(0.0, 0.0, 0.0)) -> Mesh:
    return Mesh(sample.body.vertices + np.asarray(shift), sample.body.faces)


def test_the_grid_is_the_body_box_plus_the_margin(sample, views):
    result = reconstruct_person(views, sample.body, None, ReconstructionConfig(resolution=RESOLUTION))
    low, high = sample.body.vertices.min(0) - DEFAULT_GRID_MARGIN_M, sample.body.vertices.max(0) + DEFAULT_GRID_MARGIN_M
    voxel = result.grid.voxel_size
    assert voxel == pytest.approx((high - low).max() / (RESOLUTION - 1))
    assert np.all(result.grid.minimum <= low + 1e-9) and np.all(result.grid.minimum >= low - voxel)
    assert np.all(result.grid.maximum >= high - 1e-9) and np.all(result.grid.maximum <= high + voxel)
    # the visual hull contains the person's body
    assert result.mesh.num_faces > 0
    assert (SignedDistance(result.mesh)(sample.body.vertices) < voxel).all()


def test_the_neighbour_rule_needs_neighbours_and_a_margin(sample, views):
    """A neighbour overlapping the person (their body shifted 15 cm sideways) takes the space nearer to it."""
    neighbour = body_mesh(sample, (0.15, 0.0, 0.0))
    config = ReconstructionConfig(resolution=RESOLUTION, neighbour_margin_m=0.03)
    alone = reconstruct_person(views, sample.body, None, config).mesh
    ruled = reconstruct_person(views, sample.body, [neighbour], config)
    off = reconstruct_person(views, sample.body, [neighbour], ReconstructionConfig(resolution=RESOLUTION,
                                                                                   neighbour_margin_m=None)).mesh
    none_there = reconstruct_person(views, sample.body, [], config).mesh
    for same in (off, none_there):
        assert np.array_equal(same.vertices, alone.vertices) and np.array_equal(same.faces, alone.faces)

    def claimed_depth(mesh: Mesh) -> np.ndarray:
        return SignedDistance(body_mesh(sample))(mesh.vertices) - 0.03 - SignedDistance(neighbour)(mesh.vertices)

    voxel = ruled.grid.voxel_size
    assert claimed_depth(alone).max() > 2 * voxel  # the hull reaches into the neighbour's space
    assert claimed_depth(ruled.mesh).max() < voxel  # the rule stops it at the border (within a voxel)


def test_an_encoding_gives_the_mesh_its_views_give(sample, views):
    """Validation passes the encoding it also scores; the pipeline and the evaluation pass the views."""
    torch.manual_seed(0)
    model = DeepMultiCap(tiny_config()).eval()
    config = ReconstructionConfig(resolution=RESOLUTION)
    from_views = reconstruct_person(views, sample.body, None, config, model).mesh
    inputs, _, _ = build_person_inputs(views.cameras, views.images, views.person_mask, views.unobserved, sample.body,
                                       model.config)  # fmt: skip
    with torch.no_grad():
        encoding = model.encode(inputs)
    from_encoding = reconstruct_person(encoding, sample.body, None, config, model).mesh
    assert from_views.num_faces > 0
    assert np.array_equal(from_views.vertices, from_encoding.vertices)
    assert np.array_equal(from_views.faces, from_encoding.faces)


def test_bad_inputs_say_what_was_expected(sample, views):
    with pytest.raises(ReconstructionError, match="ReconstructionConfig.resolution: expected an integer >= 2"):
        ReconstructionConfig(resolution=1)
    with pytest.raises(ReconstructionError, match="ReconstructionConfig.margin_m: expected >= 0 metres"):
        ReconstructionConfig(margin_m=-0.1)
    with pytest.raises(ReconstructionError, match="neighbour_margin_m: expected >= 0 metres or None"):
        ReconstructionConfig(neighbour_margin_m=-0.01)
    with pytest.raises(ReconstructionError, match=r"PersonViews.person_mask, camera cam00: expected bool \(64, 64\), got bool \(32, 64\)"):
        PersonViews(views.cameras, views.images, views.person_mask[:, :32], views.unobserved)
    with pytest.raises(ReconstructionError, match=r"PersonViews.images: expected 2 views \(one per camera\), got 3"):
        PersonViews(views.cameras[:2], views.images, views.person_mask, views.unobserved)
    model = DeepMultiCap(tiny_config()).eval()
    with pytest.raises(ReconstructionError, match="the network needs the body's parameters"):
        reconstruct_person(views, body_mesh(sample), None, ReconstructionConfig(resolution=RESOLUTION), model)


def test_the_mesh_record_gives_back_the_voxel_size(sample, views, tmp_path):
    config = ReconstructionConfig(resolution=RESOLUTION)
    result = reconstruct_person(views, sample.body, None, config)
    mesh = tmp_path / "000003" / "person_1.ply"
    path = write_mesh_record(mesh, "visual-hull", result.grid, config)
    assert path == tmp_path / "000003" / "person_1.json" == mesh_record_path(mesh)
    assert read_voxel_size(mesh) == result.grid.voxel_size
    document = json.loads(path.read_text())
    assert document["method"] == "visual-hull" and document["grid"]["resolution"] == list(result.grid.resolution)
    assert document["settings"]["margin_m"] == DEFAULT_GRID_MARGIN_M


def test_a_missing_or_broken_record_is_named(tmp_path):
    mesh = tmp_path / "person_0.ply"
    with pytest.raises(ReconstructionError, match=r"person_0.json: expected the implicit stage's record.*--voxel-size"):
        read_voxel_size(mesh)
    mesh_record_path(mesh).write_text(json.dumps({"voxel_size_m": "1 cm"}))
    with pytest.raises(ReconstructionError, match=r"person_0.json: field 'voxel_size_m': expected a positive number"):
        read_voxel_size(mesh)
    mesh_record_path(mesh).write_text("{not json")
    with pytest.raises(ReconstructionError, match=r"person_0.json: field 'voxel_size_m'"):
        read_voxel_size(mesh)
