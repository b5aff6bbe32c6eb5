"""The independent held-out set: a written scene loads with `load_scene`, and its masks agree with its cameras."""

from __future__ import annotations

import json

import numpy as np

from multihuman_eval.benchmark import OBJECT_LABEL, discover_scenes, load_scene
from multihuman_eval.independent_scenes import SceneConfig, write_independent_set
from render import render


def test_written_scene_loads_and_masks_match_the_cameras(tmp_path):
    config = SceneConfig(views=2, image_size=128, rasterizer="project")
    write_independent_set(tmp_path, scenes_per_category=1, seed=3, categories=("single",), config=config)
    scenes = discover_scenes(tmp_path)
    assert [s.name for s in scenes] == ["single/000"]
    data = load_scene(scenes[0])
    assert data.images.shape == (2, 128, 128, 3) and data.labels.shape == (2, 128, 128)
    assert data.person_ids == [0] and data.body_source == "gt params"
    gt = data.gt_meshes[0]
    assert 1.4 < np.ptp(gt.vertices[:, 2]) < 2.1 and abs(gt.vertices[:, 2].min()) < 1e-6
    # the ground-truth mesh projected by the scene's own cameras covers exactly the person's mask
    drawn = render([gt], data.cameras).mask
    mask = data.person_mask(0)
    assert mask.sum() > 500
    iou = (drawn & mask).sum() / (drawn | mask).sum()
    assert iou > 0.99
    # the true body sits inside the clothed person: its projection lies (almost) within the mask
    body = render([data.body(0).mesh], data.cameras).mask
    assert (body & ~mask).sum() < 0.01 * body.sum()
    # the image differs from the backdrop where the person is, and nothing is left unpainted
    assert data.images.std() > 0.05
    scene = json.loads((scenes[0].path / "gt" / "scene.json").read_text())
    assert scene["rasterizer"] == "project" and scene["props"] == 0
    assert not (data.labels == OBJECT_LABEL).any()
