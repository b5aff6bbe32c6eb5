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
def write_scene_bodies(anny_body):
    """write(run, scene, frame): a synthetic scene's true bodies as the body stage's RUN/body/<frame>.json."""
    import numpy as np

    from body.capture_io import BodyPerson, write_body_frame

    def write(run, scene, frame: int) -> None:
        people = [
            BodyPerson(id=person_id, layout="coco17", keypoints=np.zeros((17, 3)), confidence=np.zeros(17),
                       params=scene.params.map(lambda t, p=p: t[p]), model=anny_body.name,
                       pose_joint_names=list(anny_body.pose_joint_names), shape_names=list(anny_body.shape_names))
            for p, person_id in enumerate(scene.person_ids)
        ]  # fmt: skip
        write_body_frame(run, frame, people)

    return write


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
