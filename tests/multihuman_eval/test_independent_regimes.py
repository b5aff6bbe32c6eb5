"""Pieces of the three-regime evaluation that need no detector: component shares and persons without a body."""

from __future__ import annotations

import numpy as np
import pytest

from multihuman_eval.benchmark import BenchScene, BodyInfo, SceneData
from multihuman_eval.regimes import largest_component_share, skip_missing_bodies
from render.primitives import box


def test_largest_component_share_is_the_area_ratio():
    big, small = box((1.0, 1.0, 1.0)), box((0.5, 0.5, 0.5), center=(3.0, 0.0, 0.0))
    merged_v = np.concatenate([big.vertices, small.vertices])
    merged_f = np.concatenate([big.faces, small.faces + len(big.vertices)])
    from render.mesh import Mesh

    assert largest_component_share(Mesh(merged_v, merged_f)) == pytest.approx(6.0 / (6.0 + 1.5))
    assert largest_component_share(big) == pytest.approx(1.0)


def test_a_person_without_a_body_is_reconstructed_as_empty():
    body = box((0.3, 0.3, 1.7))
    scene = SceneData(BenchScene("single/000", "single", None), [], np.zeros((0, 4, 4, 3)), np.zeros((0, 4, 4)),
                      {0: body, 1: body}, {0: BodyInfo(body)}, "fitted")  # fmt: skip
    calls = []
    method = skip_missing_bodies(lambda data, pid: calls.append(pid) or data.body(pid).mesh)
    assert method(scene, 0).num_faces == body.num_faces
    assert method(scene, 1).num_faces == 0
    assert calls == [0]
