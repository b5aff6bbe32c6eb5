"""Shared fixtures of the fusion tests: one AnnyBody per session, a tiny random SMPL-X-format model, params."""

from __future__ import annotations

import pytest
import torch

from body.anny_body import AnnyBody
from body.smplx_body import SmplxBody
from synth.smplx_format import write_random_smplx_model


@pytest.fixture(scope="session")
def anny_body() -> AnnyBody:
    return AnnyBody()


@pytest.fixture(scope="session")
def smplx_body(tmp_path_factory) -> SmplxBody:
    directory = tmp_path_factory.mktemp("smplx_model")
    _, ids = write_random_smplx_model(directory, num_vertices=300, seed=1)
    return SmplxBody(directory, keypoint_vertex_ids=ids)


@pytest.fixture(params=["anny", "smplx"])
def body(request):
    """Each backend in turn."""
    return request.getfixturevalue(f"{request.param}_body")


def _posed(body, seed: int, scale: float = 0.3, shape_seed: int = 0):
    """One person's body (batch ()) in a random pose; the same ``shape_seed`` gives the same person."""
    g = torch.Generator().manual_seed(shape_seed)
    params = body.neutral_params((), standing=True)
    if body.shape_bounds is not None:
        params.shape = 0.3 + 0.4 * torch.rand(params.shape.shape, generator=g)
    g.manual_seed(1000 + seed)
    params.pose_aa = scale * torch.randn(params.pose_aa.shape, generator=g)
    params.global_rot_aa = torch.tensor([0.0, 0.0, scale * float(torch.randn((), generator=g))])
    params.transl = params.transl + 0.1 * torch.randn(3, generator=g)
    with torch.no_grad():
        return body(params)


@pytest.fixture
def posed():
    """``posed(body, seed, scale=0.3, shape_seed=0)`` -> BodyOutput of one person in a random pose."""
    return _posed
