"""SMPL-X loading errors, the y-up -> z-up conversion, parameter JSON validation, the Anny cache location."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from body.cache import anny_cache_dir, anny_cache_is_built, multicap_cache_dir
from body.errors import BodyModelError, SmplxModelNotFoundError
from body.params import BodyParams, load_params
from body.smplx_body import SmplxBody, resolve_smplx_file
from synth.smplx_format import smplx_skeleton


def test_missing_model_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MULTICAP_SMPLX_DIR", raising=False)
    with pytest.raises(SmplxModelNotFoundError, match="smpl-x.is.tue.mpg.de") as info:
        SmplxBody(tmp_path / "missing")
    assert "--body-model-dir" in str(info.value) and "MULTICAP_SMPLX_DIR" in str(info.value)
    assert str(tmp_path / "missing" / "smplx" / "SMPLX_NEUTRAL.npz") in str(info.value)
    with pytest.raises(SmplxModelNotFoundError, match="No SMPL-X model directory"):
        resolve_smplx_file(None)


def test_env_var_and_folder_layouts(tiny_smplx_file, monkeypatch):
    directory, _ = tiny_smplx_file
    monkeypatch.setenv("MULTICAP_SMPLX_DIR", str(directory))
    assert resolve_smplx_file() == directory / "smplx" / "SMPLX_NEUTRAL.npz"
    assert resolve_smplx_file(directory / "smplx") == directory / "smplx" / "SMPLX_NEUTRAL.npz"


def test_corrupt_file_and_bad_vertex_ids_are_clear_errors(tmp_path, tiny_smplx_file):
    bad = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(bad, v_template=np.zeros((3, 3)))
    with pytest.raises(BodyModelError, match="cannot load as an SMPL-X model"):
        SmplxBody(bad)
    directory, _ = tiny_smplx_file
    with pytest.raises(BodyModelError, match="10475-vertex"):
        SmplxBody(directory)  # official vertex ids do not fit a 300-vertex model


def test_convention_smplx_y_up_becomes_z_up(smplx_body):
    """The stick figure's joints, written y-up, come out z-up: C maps (x, y, z) -> (x, -z, y), pelvis at 0."""
    _, joints = smplx_skeleton()
    rest = smplx_body(smplx_body.neutral_params((), standing=False)).rest_joints
    expected = torch.tensor(joints - joints[0], dtype=torch.float32)[:, [0, 2, 1]] * torch.tensor([1.0, -1.0, 1.0])
    torch.testing.assert_close(rest, expected, atol=1e-5, rtol=0)


def test_params_validation_and_json_errors(smplx_body, anny_body, tmp_path):
    with pytest.raises(BodyModelError, match="transl"):
        BodyParams(shape=torch.zeros(2, 10), pose_aa=torch.zeros(2, 21, 3), global_rot_aa=torch.zeros(2, 3), transl=torch.zeros(3, 3))
    with pytest.raises(BodyModelError, match="do not broadcast"):
        BodyParams(shape=torch.zeros(3, 10), pose_aa=torch.zeros(2, 21, 3), global_rot_aa=torch.zeros(2, 3), transl=torch.zeros(2, 3))
    path = tmp_path / "p.json"
    smplx_body.save_params(path, smplx_body.neutral_params((2,)))
    data = json.loads(path.read_text())
    assert data["model"] == "smplx" and data["batch_shape"] == [2] and len(data["pose_joint_names"]) == 21
    with pytest.raises(BodyModelError, match="expected model 'anny'"):
        anny_body.load_params(path)
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(BodyModelError, match="version"):
        load_params(path)


def test_anny_cache_lives_in_the_project_cache(anny_body, monkeypatch, tmp_path):
    assert anny_cache_is_built()  # the session fixture built or found it; nothing here rebuilds it
    import anny.paths

    assert anny.paths.get_anny_cache_path() == anny_cache_dir()
    monkeypatch.setenv("MULTICAP_CACHE_DIR", str(tmp_path))
    assert multicap_cache_dir() == tmp_path and anny_cache_dir() == tmp_path / "anny"
