"""Command-line defaults cannot drift from the stage configs: each stage command's options, parsed with nothing
but the required ones, give exactly the config its stage function uses by default; and `capture reconstruct`'s
defaults resolve to the stages' own defaults."""

import dataclasses
import importlib
import inspect
from pathlib import Path
from types import SimpleNamespace

import pytest

from body.detection.stage import KeypointStageConfig, run_keypoint_stage
from body.stage import BodyStageConfig, run_body_stage
from capture.cli import build_parser
from capture.pipeline import ReconstructConfig, stage_configs
from fusion.stage import fuse_run
from implicit.reconstruct import ReconstructionConfig
from segmentation.frame import SegmentConfig


def _default(function, name: str = "config"):
    return inspect.signature(function).parameters[name].default


@pytest.mark.parametrize(
    "command, argv, expected",
    [
        ("reconstruct", ["--rig", "capture/rig.yaml"], ReconstructConfig(Path("capture/rig.yaml"), Path("capture/run"))),
        ("body", ["--rig", "rig.yaml", "--out", "run"], _default(run_body_stage)),
        ("keypoints", ["--rig", "rig.yaml", "--out", "run"], _default(run_keypoint_stage)),
        ("fuse", ["--run", "run"], _default(fuse_run)),
    ],
)
def test_options_parsed_with_their_defaults_give_the_stage_default_config(command, argv, expected):
    args = build_parser().parse_args([command, *argv])
    assert importlib.import_module(f"capture.commands.{command}").config_from_args(args) == expected


def test_a_changed_option_reaches_the_config():
    args = build_parser().parse_args(["body", "--rig", "rig.yaml", "--out", "run", "--fit-iterations", "7"])
    config = importlib.import_module("capture.commands.body").config_from_args(args)
    assert config == dataclasses.replace(BodyStageConfig(), fit_iterations=7)


def _rig(keypoints: Path | None):
    layout = SimpleNamespace(keypoints=keypoints, images=Path("images"), videos=None)
    return SimpleNamespace(layout=layout, source=Path("rig.yaml"))


def test_reconstruct_defaults_resolve_to_each_stage_default():
    config = ReconstructConfig(Path("rig.yaml"), Path("run"))
    given = stage_configs(_rig(Path("keypoints")), config)
    assert given.keypoints is None  # the capture has keypoints: nothing is detected
    assert given.body == BodyStageConfig()
    assert given.segment == SegmentConfig()
    assert given.implicit == ReconstructionConfig()
    assert given.fusion == _default(fuse_run)  # each mesh's own voxel size


def test_without_keypoints_the_detector_and_the_body_stage_share_the_layout():
    config = ReconstructConfig(Path("rig.yaml"), Path("run"), layout="coco17")
    given = stage_configs(_rig(None), config)
    assert given.keypoints == dataclasses.replace(KeypointStageConfig(), layout="coco17")
    assert (given.body.layout, given.body.keypoint_format, given.body.keypoints) == ("coco17", "openpose",
                                                                                     Path("run/keypoints"))  # fmt: skip
    described = given.describe()
    assert described["body"]["keypoints"] == "run/keypoints" and described["keypoints"]["layout"] == "coco17"
    assert set(described) == {"keypoints", "body", "segment", "implicit", "fusion"}
