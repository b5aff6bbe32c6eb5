"""A view that alone says background over a person (a prop in front of her, absent from the masks) does not carve
her when `lone_background_blocked` is on (the default); a body wider than the person in every view is still carved."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from calibration.ring_rig import ring_rig
from implicit.reconstruct import PersonViews, ReconstructionConfig, reconstruct_person
from implicit.visibility import disputed_pixels
from render import render
from render.primitives import box, capsule

SIZE = 128
PERSON = capsule(radius=0.2, height=1.7, center=(0.0, 0.0, 0.85), sections=24)


def _scene(prop: bool):
    """Six ring views of the capsule person; with `prop`, a box stands between camera 0 and her legs. The masks
    name only the person (the box is background, as for a prop nobody labelled)."""
    cameras = list(ring_rig(6, radius=3.5, height=1.5, image_size=(SIZE, SIZE), fov_deg=50.0).cameras)
    meshes = [PERSON]
    if prop:
        towards = cameras[0].center[:2] / np.linalg.norm(cameras[0].center[:2])
        meshes.append(box((0.5, 0.5, 0.8), center=(*(1.2 * towards), 0.4)))
    out = render(meshes, cameras)
    person = out.instance_id == 0
    images = out.rgb.astype(np.float32)
    return PersonViews(cameras, images, person, np.zeros_like(person))


def _low_points(mesh) -> int:
    """Vertices of the mesh below 0.6 m (the legs, where the prop stands)."""
    return int((mesh.vertices[:, 2] < 0.6).sum())


def test_the_blocked_view_is_found_only_where_the_prop_hides_the_person():
    views = _scene(prop=True)
    blocked = disputed_pixels(views.cameras, views.person_mask, views.unobserved, PERSON.vertices, PERSON.faces)
    assert blocked[0].sum() > 100  # the legs behind the box in camera 0
    assert all(extra.sum() == 0 for extra in blocked[1:])  # the others agree with each other
    assert not (blocked[0] & views.person_mask[0]).any()


def test_a_prop_in_one_view_no_longer_cuts_the_legs():
    views = _scene(prop=True)
    config = ReconstructionConfig(resolution=48, lone_background_blocked=False)
    carved = reconstruct_person(views, PERSON, None, config).mesh
    kept = reconstruct_person(views, PERSON, None, dataclasses.replace(config, lone_background_blocked=True)).mesh
    clean = reconstruct_person(_scene(prop=False), PERSON, None, config).mesh
    assert _low_points(carved) < 0.4 * _low_points(clean)  # hard carving: the one blocked view cuts the legs off
    assert carved.vertices[:, 2].min() > 0.4
    assert _low_points(kept) == pytest.approx(_low_points(clean), rel=0.15)
    assert kept.vertices[:, 2].min() == pytest.approx(clean.vertices[:, 2].min(), abs=0.03)  # down to the feet


def test_a_body_wider_than_the_person_everywhere_is_still_carved():
    views = _scene(prop=False)
    wide = capsule(radius=0.32, height=1.8, center=(0.0, 0.0, 0.9), sections=24)
    blocked = disputed_pixels(views.cameras, views.person_mask, views.unobserved, wide.vertices, wide.faces)
    assert sum(int(extra.sum()) for extra in blocked) == 0
    config = ReconstructionConfig(resolution=48, lone_background_blocked=True)
    mesh = reconstruct_person(views, wide, None, config).mesh
    radius = np.linalg.norm(mesh.vertices[:, :2], axis=1)
    assert np.percentile(radius, 95) < 0.26  # the hull of the masks, not the wide body
