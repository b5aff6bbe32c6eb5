"""Shared fixtures: one AnnyBody per session, a small 6-camera ring, and primitive two-person scenes."""

from __future__ import annotations

import pytest

from calibration.ring_rig import ring_rig
from render import init_taichi


@pytest.fixture(scope="session")
def taichi_arch() -> str:
    return init_taichi()


@pytest.fixture(scope="session")
def anny_body():
    from body.anny_body import AnnyBody

    return AnnyBody()


@pytest.fixture
def segment_command(monkeypatch, anny_body):
    """`capture segment` registered in the CLI (whether or not capture/cli.py lists it yet), and the session's
    AnnyBody reused by the stage instead of loading a new one per command (saves ~2 s each)."""
    from capture import cli

    if "segment" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "segment"))
    monkeypatch.setattr("body.create_body", lambda model, *args, **kwargs: anny_body)


@pytest.fixture(scope="session")
def ring_cameras():
    """Six 160 x 160 cameras on a 4.5 m circle around the origin (the paper's 6-view layout, small images)."""
    return list(ring_rig(6, radius=4.5, image_size=(160, 160), fov_deg=45.0).cameras)


@pytest.fixture(scope="session")
def natural_scene(anny_body, ring_cameras, taichi_arch):
    from synth.segmentation_scenes import make_scene

    return make_scene(anny_body, "natural", ring_cameras, num_people=2, seed=0)


@pytest.fixture(scope="session")
def close_scene(anny_body, ring_cameras, taichi_arch):
    from synth.segmentation_scenes import make_scene

    return make_scene(anny_body, "close", ring_cameras, num_people=2, seed=1)
