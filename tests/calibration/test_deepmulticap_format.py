"""DeepMultiCap parameter folders: the imported rig projects the authors' points (mirrored in x) to the pixels
their renders show (rows flipped), subjects of one dataset folder must agree, and bad files get one-line errors.

The folders are written by the tests: random cameras in the authors' layout (`<view>_intrinsic.npy` (3, 3),
`<view>_extrinsic.npy` (3, 4) [R | t]), as numpy.save writes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibration.camera import Camera
from calibration.errors import RigError
from calibration.formats import import_rig
from calibration.formats.deepmulticap import to_rig_world
from calibration.rig_file import load_rig, save_rig
from capture.cli import main

VIEWS = ["0", "90", "180", "270"]  # numeric order differs from the files' sorted order (0, 180, 270, 90)
SIZE = 512


@pytest.fixture
def authors_cameras(make_ring_rig) -> list[Camera]:
    """Four distortion-free cameras standing for the authors' K [R | t] (512 x 512)."""
    cameras = make_ring_rig(n_views=4, seed=3, distortion=False, radius=2.0)
    return [camera.replace(width=SIZE, height=SIZE, K=camera.K * [[0.4], [0.4], [1.0]]) for camera in cameras]


def write_subject(cameras: list[Camera], folder: Path) -> Path:
    """The authors' files of one subject: K and [R | t] per view, named by VIEWS."""
    folder.mkdir(parents=True)
    for name, camera in zip(VIEWS, cameras):
        np.save(folder / f"{name}_intrinsic.npy", camera.K)
        np.save(folder / f"{name}_extrinsic.npy", np.hstack([camera.R, camera.t[:, None]]))
    return folder


def rendered_pixels(camera: Camera, points: np.ndarray) -> np.ndarray:
    """(N, 2) where the authors' renders show `points`: K [R | t] projected, then the rows flipped."""
    uv = camera.project(points)
    return np.column_stack([uv[:, 0], (SIZE - 1) - uv[:, 1]])


def test_imported_cameras_see_the_mirrored_world_where_the_renders_show_it(authors_cameras, make_scene_points,
                                                                           tmp_path):
    rig = import_rig("deepmulticap", [write_subject(authors_cameras, tmp_path / "parameter" / "20_0")])
    assert rig.names == VIEWS
    saved = tmp_path / "rig.yaml"
    save_rig(rig, saved)
    rig = load_rig(saved, check_paths=False)
    points = make_scene_points()
    mirrored = to_rig_world(points)
    np.testing.assert_allclose(mirrored[:, 0], -points[:, 0])
    for authors, camera in zip(authors_cameras, rig.cameras):
        assert np.linalg.det(camera.R) == pytest.approx(1.0)
        assert camera.K[1, 1] > 0 and camera.image_size == (SIZE, SIZE)
        assert np.all(camera.world_to_camera(mirrored)[:, 2] > 0)
        np.testing.assert_allclose(camera.project(mirrored), rendered_pixels(authors, points), atol=1e-8)


def test_dataset_folder_reads_the_subjects_which_must_agree(authors_cameras, tmp_path):
    write_subject(authors_cameras, tmp_path / "parameter" / "20_0")
    write_subject(authors_cameras, tmp_path / "parameter" / "20_1")
    from_dataset = import_rig("deepmulticap", [tmp_path], image_size=(640, 480))
    assert from_dataset.names == VIEWS and from_dataset.cameras[0].image_size == (640, 480)
    np.testing.assert_allclose(from_dataset.cameras[0].K[1, 2], 479 - authors_cameras[0].K[1, 2])

    np.save(tmp_path / "parameter" / "20_1" / "90_extrinsic.npy",
            np.hstack([authors_cameras[1].R, authors_cameras[1].t[:, None] + 0.1]))
    with pytest.raises(RigError) as error:
        import_rig("deepmulticap", [tmp_path])
    assert "20_1" in str(error.value) and "'90'" in str(error.value) and "pass one parameter/<subject>" in str(
        error.value)


def test_cli_import_writes_the_rig(authors_cameras, tmp_path, capsys):
    folder = write_subject(authors_cameras, tmp_path / "p")
    out = tmp_path / "rig.yaml"
    assert main(["rig", "import", "--format", "deepmulticap", str(folder), "--out", str(out)]) == 0
    assert load_rig(out, check_paths=False).names == VIEWS
    assert "4 cameras: 0, 90, 180, 270" in capsys.readouterr().out


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda folder: (folder / "90_extrinsic.npy").unlink(), ["90_extrinsic.npy", "does not exist"]),
        (lambda folder: np.save(folder / "0_intrinsic.npy", np.eye(4)), ["0_intrinsic.npy", "'K'", "shape (3, 3)"]),
        (lambda folder: np.save(folder / "0_extrinsic.npy", np.hstack([-np.eye(3), np.ones((3, 1))])),
         ["0_extrinsic.npy", "field 'R ([R | t][:, :3])'", "det"]),
        (lambda folder: np.save(folder / "180_intrinsic.npy", np.array({"K": 1}, dtype=object)),
         ["180_intrinsic.npy", "expected a numeric array"]),
    ],
    ids=["missing-extrinsic", "bad-shape", "mirror-rotation", "pickle"],
)
def test_bad_files_name_the_file_and_field(authors_cameras, tmp_path, damage, expected):
    folder = write_subject(authors_cameras, tmp_path / "p")
    damage(folder)
    with pytest.raises(RigError) as error:
        import_rig("deepmulticap", [folder])
    message = str(error.value)
    assert all(part in message for part in expected), message


def test_folder_without_cameras_is_refused(tmp_path):
    with pytest.raises(RigError, match="_intrinsic.npy .* found none"):
        import_rig("deepmulticap", [tmp_path])
    with pytest.raises(RigError, match="not a folder"):
        import_rig("deepmulticap", [tmp_path / "absent"])
