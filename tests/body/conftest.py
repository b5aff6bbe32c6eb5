"""Shared body models: one AnnyBody per test session (the Anny cache is built at most once per machine) and a
tiny random SMPL-X-format model written by the test itself."""

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
def tiny_smplx_file(tmp_path_factory):
    """(model directory, keypoint vertex ids) of a 300-vertex random SMPL-X-format model."""
    directory = tmp_path_factory.mktemp("smplx_model")
    _, ids = write_random_smplx_model(directory, num_vertices=300, seed=1)
    return directory, ids


@pytest.fixture(scope="session")
def smplx_body(tiny_smplx_file) -> SmplxBody:
    directory, ids = tiny_smplx_file
    return SmplxBody(directory, keypoint_vertex_ids=ids)


@pytest.fixture(params=["anny", "smplx"])
def body(request):
    """Each backend in turn: the interface suite runs on both."""
    return request.getfixturevalue(f"{request.param}_body")


def random_params(body, batch, scale=0.3, seed=0):
    """Random plausible parameters for ``body`` with batch dims ``batch``."""
    generator = torch.Generator().manual_seed(seed)
    params = body.neutral_params(batch, standing=False)
    params.pose_aa = scale * torch.randn(params.pose_aa.shape, generator=generator)
    params.global_rot_aa = scale * torch.randn(params.global_rot_aa.shape, generator=generator)
    params.transl = torch.randn(params.transl.shape, generator=generator)
    if body.shape_bounds is not None:
        params.shape = 0.2 + 0.6 * torch.rand(params.shape.shape, generator=generator)
    else:
        params.shape = torch.randn(params.shape.shape, generator=generator)
    return params


@pytest.fixture
def make_params():
    """``make_params(body, batch, scale=0.3, seed=0)`` -> random BodyParams."""
    return random_params
