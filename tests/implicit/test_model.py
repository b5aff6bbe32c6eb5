"""The DeepMultiCap network on a tiny config: shapes, gradients, fusion invariances, ablation switches, crops."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from calibration.camera import Camera
from implicit.attention import ViewFusion
from implicit.body_volume import canonical_frame, voxelize
from implicit.config import Config, ConfigError, full_config, small_config, tiny_config, with_ablation
from implicit.dataset import TrainingDataset
from implicit.features import CropBox, crop_box_around, crop_image, project_to_crops
from implicit.model import (
    DeepMultiCap,
    encoded_occupancy_function,
    occupancy_function,
    parameter_counts,
    predict_occupancy,
)
from synth.capsules import capsule_scene
from implicit.training import training_step
from render import primitives


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: threads only add overhead on a shared 2-core machine
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def example():
    samples = capsule_scene(people=2, views=3, size=64, sections=16)
    return TrainingDataset([lambda: samples[0]], tiny_config(), seed=1)[0]


def make_model(config: Config, seed: int = 0) -> DeepMultiCap:
    torch.manual_seed(seed)
    return DeepMultiCap(config).eval()


def test_output_shapes(example):
    model = make_model(tiny_config())
    out = model(example.inputs, example.points)
    n, s = example.points.shape[1], tiny_config().inputs.crop_size
    assert out.coarse_logits.shape == (1, n) and out.fine_logits.shape == (1, n)
    assert out.coarse_embedding.shape == (1, n, tiny_config().coarse.mlp[-1])
    assert out.normals.shape == (1, 3, 3, s, s)
    norms = out.normals.norm(dim=2)[example.inputs.masks[:, :, 0] > 0]
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-4)


@pytest.mark.parametrize("fine", [True, False])
def test_one_encoding_answers_many_point_sets_like_the_forward_pass(example, fine):
    model = make_model(tiny_config())
    points = example.points[0].numpy()
    with torch.no_grad():
        expected = model(example.inputs, example.points, fine=fine)
        encoding = model.encode(example.inputs, fine=fine)
        first, second = model.query(encoding, example.points[:, :100]), model.query(encoding, example.points[:, 100:])
    assert (expected.fine_logits is None) == (not fine) == (encoding.fine_features is None)
    torch.testing.assert_close(torch.cat([first.logits, second.logits], dim=1), expected.logits)
    from_encoding = encoded_occupancy_function(model, encoding, chunk=64)(points)
    np.testing.assert_allclose(from_encoding, torch.sigmoid(expected.logits[0]).numpy(), atol=1e-6)
    np.testing.assert_allclose(occupancy_function(model, example.inputs, chunk=64, fine=fine)(points), from_encoding, atol=1e-6)


@pytest.mark.parametrize("stage", ["coarse", "fine"])
def test_gradients_reach_every_trained_submodule(example, stage):
    model = make_model(tiny_config()).train()
    training_step(model, example, stage, normal_weight=1.0)["loss"].backward()
    trained = ("coarse", "fine.normal_net") if stage == "coarse" else ("fine.encoder", "fine.token", "fine.fusion", "fine.mlp")
    for name, parameter in model.named_parameters():
        has_grad = parameter.grad is not None and parameter.grad.abs().sum() > 0
        if name.startswith(trained):
            assert has_grad, f"no gradient reaches {name} in stage {stage}"
        else:
            assert parameter.grad is None, f"{name} should be frozen in stage {stage}"


def test_masked_attention_equals_attention_over_the_subset():
    torch.manual_seed(0)
    fusion = ViewFusion(16, layers=2, heads=2, mode="attention").eval()
    tokens = torch.randn(2, 5, 4, 16)
    valid = torch.tensor([True, False, True, True]).expand(2, 5, 4)
    subset = tokens[:, :, [0, 2, 3]]
    full = fusion(tokens, valid)
    assert torch.allclose(full, fusion(subset, torch.ones(2, 5, 3, dtype=torch.bool)), atol=1e-5)
    assert not torch.allclose(full, fusion(tokens, torch.ones_like(valid)), atol=1e-3)


def test_point_seen_by_no_view_falls_back_to_all_views():
    fusion = ViewFusion(8, layers=1, heads=2, mode="mean").eval()
    tokens = torch.randn(1, 3, 4, 8)
    none = fusion(tokens, torch.zeros(1, 3, 4, dtype=torch.bool))
    assert torch.isfinite(none).all()
    assert torch.allclose(none, fusion(tokens, torch.ones(1, 3, 4, dtype=torch.bool)))


@pytest.mark.parametrize("ablation", ["none", "mean_pooling"])
def test_view_order_does_not_change_the_output(example, ablation):
    model = make_model(with_ablation(tiny_config(), ablation))
    with torch.no_grad():
        out = model(example.inputs, example.points)
        permuted = model(example.inputs.select_views([2, 0, 1]), example.points)
    assert torch.allclose(out.coarse_logits, permuted.coarse_logits, atol=1e-5)
    assert torch.allclose(out.fine_logits, permuted.fine_logits, atol=1e-5)


def _with(inputs, **changes):
    return dataclasses.replace(inputs, **changes)


@pytest.mark.parametrize(
    ("ablation", "field", "module"),
    [("no_body_volume", "body_voxels", "coarse.body_encoder"), ("no_global_normals", "body_normals", None)],
)
def test_ablation_removes_its_input(example, ablation, field, module):
    changed = _with(example.inputs, **{field: torch.rand_like(getattr(example.inputs, field))})
    with torch.no_grad():
        base = make_model(tiny_config())
        assert not torch.allclose(base(example.inputs, example.points).logits, base(changed, example.points).logits)
        ablated = make_model(with_ablation(tiny_config(), ablation))
        assert torch.equal(ablated(example.inputs, example.points).logits, ablated(changed, example.points).logits)
    base_counts, ablated_counts = parameter_counts(base), parameter_counts(ablated)
    assert ablated_counts["total"] < base_counts["total"]
    if module:
        assert module in base_counts and module not in ablated_counts


def test_mean_pooling_pifu_like_and_coarse_only_switches(example):
    counts = {name: parameter_counts(make_model(with_ablation(tiny_config(), name))) for name in
              ("none", "mean_pooling", "pifu_like", "coarse_only")}  # fmt: skip
    assert counts["mean_pooling"]["coarse.fusion"] != counts["none"]["coarse.fusion"]
    assert "coarse.body_encoder" not in counts["pifu_like"]
    assert "fine.mlp" not in counts["coarse_only"]
    out = make_model(with_ablation(tiny_config(), "coarse_only"))(example.inputs, example.points)
    assert out.fine_logits is None and out.normals is None and out.logits is out.coarse_logits
    config = with_ablation(tiny_config(), "pifu_like")
    assert (config.coarse.fusion, config.inputs.use_body_volume, config.inputs.use_global_normals) == ("mean", False, False)


def test_projection_into_crop_matches_camera_project_then_crop_map(example):
    camera = primitives.look_at_camera("d", (2.5, -2.0, 1.4), (0.0, 0.0, 0.9), size=256,
                                       dist=np.array([-0.2, 0.05, 0.001, -0.002, 0.0]))  # fmt: skip
    points = np.random.default_rng(0).uniform([-0.3, -0.3, 0.2], [0.3, 0.3, 1.6], size=(50, 3))
    box = crop_box_around(camera.project(points), size=32, margin=0.1)
    inputs = _with(
        example.inputs.select_views([0]),
        cameras=type(example.inputs.cameras).from_cameras([camera], dtype=torch.float32)[None],
        crop_affine=torch.as_tensor(box.affine(), dtype=torch.float32)[None, None],
    )
    projection = project_to_crops(inputs, torch.as_tensor(points, dtype=torch.float32)[None])
    crop_pixels = camera.project(points) @ box.affine()[:, :2].T + box.affine()[:, 2]
    expected = (crop_pixels + 0.5) / 32 * 2 - 1
    assert np.allclose(projection.grid[0, 0].numpy(), expected, atol=1e-4)
    assert projection.valid.all()  # the crop holds every point
    # the crop box's edges map to the crop's edges
    edges = np.array([[box.left - 0.5, box.top - 0.5], [box.left + box.side - 0.5, box.top + box.side - 0.5]])
    assert np.allclose(edges @ box.affine()[:, :2].T + box.affine()[:, 2], [[-0.5, -0.5], [31.5, 31.5]])


def test_crop_image_puts_a_pixel_where_the_affine_map_says():
    image = np.zeros((100, 120), np.float32)
    image[40, 70] = 1.0
    box = CropBox(left=50.0, top=20.0, side=40.0, size=40)  # no scaling: a pure shift
    crop = crop_image(image, box)
    x, y = box.affine() @ np.array([70.0, 40.0, 1.0])
    assert crop[int(round(y)), int(round(x))] == 1.0 and crop.sum() == 1.0


def test_convention_canonical_frame_faces_plus_z_and_keeps_up():
    vertices = np.random.default_rng(0).uniform(-0.3, 0.3, size=(100, 3)) + [1.0, 2.0, 0.9]
    quarter = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 degrees about world z
    frame = canonical_frame(vertices, quarter, min_half_size=1.1)
    facing_world = quarter @ np.array([0.0, -1.0, 0.0])  # the body faces -y in its own frame: now +x
    assert np.allclose(frame.rotation @ facing_world, [0, 0, 1])
    assert np.allclose(frame.rotation @ [0, 0, 1], [0, 1, 0])
    assert np.isclose(np.linalg.det(frame.rotation), 1.0)
    assert np.allclose(frame.to_world(frame.to_unit(vertices)), vertices)
    unit = frame.to_unit(vertices)
    assert np.abs(unit).max() <= 1.0
    # a misreading (keeping z up as the volume's depth axis) would send the up direction to the grid's z
    assert not np.allclose(frame.rotation @ [0, 0, 1], [0, 0, 1])


def test_voxelized_capsule_fills_its_volume():
    capsule = primitives.capsule(radius=0.25, height=1.6, center=(0.0, 0.0, 0.8), sections=32)
    frame = canonical_frame(capsule.vertices, np.eye(3), min_half_size=1.0)
    voxels = voxelize(capsule.vertices, capsule.faces, frame, grid=32)
    volume = np.pi * 0.25**2 * (1.6 - 0.5) + 4 / 3 * np.pi * 0.25**3
    assert voxels.mean() * (2 * frame.half_size) ** 3 == pytest.approx(volume, rel=0.1)
    # indexed [z_c, y_c, x_c] with y_c = world up: the capsule is long along the second axis
    extent = [np.ptp(np.nonzero(voxels)[axis]) for axis in range(3)]
    assert extent[1] > 2 * max(extent[0], extent[2])


def test_predict_occupancy_is_chunked_and_matches_forward(example):
    model = make_model(tiny_config())
    points = example.points[0].numpy()
    chunked = predict_occupancy(model, example.inputs, points, chunk=37)
    with torch.no_grad():
        direct = torch.sigmoid(model(example.inputs, example.points).logits[0]).numpy()
    assert chunked.shape == (len(points),) and chunked.dtype == np.float32
    assert np.allclose(chunked, direct, atol=1e-5)


def test_config_round_trip_and_errors():
    for config in (tiny_config(), small_config(), full_config(), with_ablation(small_config(), "pifu_like")):
        assert Config.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="token_dim"):
        dataclasses.replace(tiny_config(), coarse=dataclasses.replace(tiny_config().coarse, token_dim=15))
    with pytest.raises(ConfigError, match="crop_size"):
        dataclasses.replace(tiny_config(), inputs=dataclasses.replace(tiny_config().inputs, crop_size=36))
    with pytest.raises(ConfigError, match="ablation"):
        with_ablation(tiny_config(), "no_attention")


def test_camera_type_is_the_project_camera():
    assert isinstance(primitives.look_at_camera("cam00", (3.0, 0.0, 1.5)), Camera)
