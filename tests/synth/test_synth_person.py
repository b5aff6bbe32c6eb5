"""Clothed people: watertight canonical meshes, garments where they belong, skinning that follows the body."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from synth.clothing import Garment, Outfit, Pattern, random_outfit
from synth.person import PARTS, build_person, joint_part

RED, BLUE = (0.8, 0.1, 0.1), (0.1, 0.1, 0.8)


@pytest.fixture(scope="module")
def dressed(anny_body):
    outfit = Outfit((0.8, 0.6, 0.5), (
        Garment("top", Pattern("stripes", (RED, BLUE)), 0.015, 0.004, sleeve=0.35, seed=1),
        Garment("skirt", Pattern("solid", (BLUE, BLUE)), 0.015, 0.005, length=0.5, flare=0.25, seed=2),
        Garment("hair", Pattern("noise", (RED, RED), 0.02), 0.02, 0.003, style="long", seed=3),
    ))  # fmt: skip
    return build_person(anny_body, np.full(6, 0.5), outfit, voxel_size=0.015), outfit


def test_canonical_mesh_is_watertight_and_clothed(dressed, anny_body):
    person, outfit = dressed
    mesh = trimesh.Trimesh(person.rest_vertices, person.faces, process=False)
    assert mesh.is_watertight and mesh.volume > 0  # outward winding
    counts = np.bincount(person.component, minlength=1 + len(outfit.garments))
    assert np.all(counts > 100)  # skin and every garment show
    z = person.rest_vertices[:, 2]
    skirt = person.component == 2
    assert np.ptp(person.rest_vertices[skirt, 0]) > 0.45  # flared wider than the hips
    assert z[person.component == 3].min() > z[skirt].max()  # hair above the skirt
    assert torch.allclose(person.skinning_weights.sum(1), torch.ones(1), atol=1e-5)


def test_posing_follows_the_body(dressed, anny_body):
    person, _ = dressed
    params = anny_body.neutral_params((2,), standing=False)
    params.transl[1] = torch.tensor([1.0, 2.0, 0.5])
    params.pose_aa[1, anny_body.pose_joint_names.index("left_knee")] = torch.tensor([1.0, 0.0, 0.0])
    with torch.no_grad():
        output = anny_body(params)
    posed = person.pose(output.joint_transforms)
    assert np.allclose(posed[0], person.rest_vertices, atol=1e-4)  # rest transforms leave it in place
    moved = posed[1] - posed[0]
    upper = person.rest_vertices[:, 2] > 0.3  # root-relative: the upper body only translates
    assert np.allclose(moved[upper].mean(0), [1.0, 2.0, 0.5], atol=0.02)


def test_random_outfits_vary_and_are_deterministic():
    a, b = random_outfit(np.random.default_rng(5)), random_outfit(np.random.default_rng(5))
    assert a == b
    kinds = {g.kind for seed in range(30) for g in random_outfit(np.random.default_rng(seed)).garments}
    assert {"top", "trousers", "shorts", "skirt", "dress", "coat", "hair", "shoes"} <= kinds


def test_joint_parts_of_both_backends():
    assert joint_part("upperarm01.L") == "upper_arm" and joint_part("left_shoulder") == "upper_arm"
    assert joint_part("lowerleg02.R") == "shin" and joint_part("right_knee") == "shin"
    assert joint_part("finger2-3.L") == "hand" and joint_part("spine03") == "torso"
    assert set(PARTS) >= {joint_part(n) for n in ("head", "neck01", "foot.L", "left_hip")}
