"""Calibration importers and the EasyMocap exporter: round trips through rig.yaml and the bad-input messages.

Each importer test writes the foreign file from a random rig (with distortion) the way the format's own tools
do, imports it, saves it as rig.yaml, loads that back and compares with the original cameras to 1e-9.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.camera import Camera
from calibration.errors import RigError
from calibration.formats import FORMATS, export_rig, import_rig
from calibration.rig import Rig
from calibration.rig_file import load_rig, save_rig

TOLERANCE = 1e-9


# --- writers of foreign files (test data) -------------------------------------------------------------------------


def write_panoptic_json(cameras: list[Camera], path: Path, camera_type: str = "hd") -> Path:
    """A Panoptic calibration JSON: the cameras as `camera_type` (t in cm) plus two decoy VGA cameras."""
    entries = [
        {
            "name": camera.name,
            "type": camera_type,
            "resolution": [camera.width, camera.height],
            "panel": 0,
            "node": index,
            "K": camera.K.tolist(),
            "distCoef": camera.dist.tolist(),
            "R": camera.R.tolist(),
            "t": (camera.t * 100.0).reshape(3, 1).tolist(),
        }
        for index, camera in enumerate(cameras)
    ]
    decoy = cameras[0]
    for node in (1, 2):
        entries.append({**entries[0], "name": f"01_{node:02d}", "type": "vga", "resolution": [640, 480],
                        "K": (decoy.K * [[0.5], [0.5], [1.0]]).tolist()})
    path.write_text(json.dumps({"calibDataSource": "test", "cameras": entries}), encoding="utf-8")
    return path


def _toml_list(values) -> str:
    return "[" + ", ".join(_toml_list(v) if isinstance(v, list) else repr(float(v)) for v in values) + "]"


def write_anipose_toml(cameras: list[Camera], path: Path, fisheye: str | None = None, four_coefficients=False) -> Path:
    """An Anipose/Pose2Sim calibration.toml (sizes as floats like Pose2Sim writes them, a [metadata] table)."""
    lines = []
    for camera in cameras:
        dist = camera.dist[:4] if four_coefficients else camera.dist
        lines += [
            f"[{camera.name}_table]",
            f'name = "{camera.name}"',
            f"size = {_toml_list([camera.width, camera.height])}",
            f"matrix = {_toml_list(camera.K.tolist())}",
            f"distortions = {_toml_list(dist.tolist())}",
            f"rotation = {_toml_list(cv2.Rodrigues(camera.R)[0].ravel().tolist())}",
            f"translation = {_toml_list(camera.t.tolist())}",
            f"fisheye = {'true' if camera.name == fisheye else 'false'}",
            "",
        ]
    lines += ["[metadata]", "adjusted = false", "error = 0.0", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_zju_annots(cameras: list[Camera], path: Path, folders: list[str] | None = None) -> Path:
    """A ZJU-MoCap annots.npy (pickled dict, T in mm); `folders` name the cameras' image folders in `ims`."""
    data = {
        "cams": {
            "K": [camera.K.copy() for camera in cameras],
            "D": [camera.dist.reshape(5, 1).copy() for camera in cameras],
            "R": [camera.R.copy() for camera in cameras],
            "T": [(camera.t * 1000.0).reshape(3, 1) for camera in cameras],
        }
    }
    if folders is not None:
        data["ims"] = [{"ims": [f"{folder}/{frame:06d}.jpg" for folder in folders]} for frame in range(2)]
    np.save(path, data, allow_pickle=True)
    return path


def write_easymocap_style(cameras: list[Camera], folder: Path, sizes: bool = True) -> tuple[Path, Path]:
    """intri.yml / extri.yml the way EasyMocap writes them: 6 decimals, quoted names, a 'none' entry."""
    folder.mkdir(parents=True, exist_ok=True)

    def matrix(key: str, value: np.ndarray) -> str:
        data = ", ".join(f"{v:.6f}" for v in value.ravel())
        rows, cols = value.shape
        return f"{key}: !!opencv-matrix\n  rows: {rows}\n  cols: {cols}\n  dt: d\n  data: [{data}]\n"

    names = "names:\n" + "".join(f'  - "{c.name}"\n' for c in cameras) + '  - "none"\n'
    intri, extri = "%YAML:1.0\n---\n" + names, "%YAML:1.0\n---\n" + names
    for camera in cameras:
        intri += matrix(f"K_{camera.name}", camera.K) + matrix(f"dist_{camera.name}", camera.dist.reshape(1, 5))
        if sizes:
            intri += f"H_{camera.name}: {camera.height}\nW_{camera.name}: {camera.width}\n"
        extri += matrix(f"R_{camera.name}", cv2.Rodrigues(camera.R)[0]) + matrix(f"Rot_{camera.name}", camera.R)
        extri += matrix(f"T_{camera.name}", camera.t.reshape(3, 1))
    (folder / "intri.yml").write_text(intri, encoding="utf-8")
    (folder / "extri.yml").write_text(extri, encoding="utf-8")
    return folder / "intri.yml", folder / "extri.yml"

def replace_matrix_data(path: Path, key: str, value: np.ndarray) -> None:
    """Rewrite the data of matrix `key` in a file written by write_easymocap_style."""
    lines = path.read_text().split("\n")
    index = lines.index(f"{key}: !!opencv-matrix")
    assert lines[index + 4].startswith("  data: [")
    lines[index + 4] = "  data: [" + ", ".join(f"{v:.6f}" for v in np.ravel(value)) + "]"
    path.write_text("\n".join(lines))


# --- helpers --------------------------------------------------------------------------------------------------------


def through_rig_yaml(rig: Rig, tmp_path: Path) -> Rig:
    return load_rig(save_rig(rig, tmp_path / "rig.yaml"))


def assert_same_cameras(got: Rig, expected: list[Camera], atol: float = TOLERANCE) -> None:
    assert got.names == [camera.name for camera in expected]
    for camera, reference in zip(got.cameras, expected):
        assert camera.image_size == reference.image_size, camera.name
        for attr in ("K", "dist", "R", "t"):
            np.testing.assert_allclose(getattr(camera, attr), getattr(reference, attr), rtol=0, atol=atol,
                                       err_msg=f"{camera.name}.{attr}")


def assert_message(error: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(error.value)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.fixture
def cameras(make_ring_rig) -> list[Camera]:
    return make_ring_rig(n_views=4, seed=3, distortion=True)


# --- round trips ----------------------------------------------------------------------------------------------------


def test_formats_listed():
    assert FORMATS == ("easymocap", "panoptic", "anipose", "caliscope", "zju-annots", "deepmulticap")


def test_easymocap_export_import_round_trip(cameras, tmp_path):
    written = export_rig("easymocap", Rig(tuple(cameras)), tmp_path / "em")
    assert written == [tmp_path / "em" / "intri.yml", tmp_path / "em" / "extri.yml"]
    from_files = import_rig("easymocap", written)
    from_folder = import_rig("easymocap", [tmp_path / "em"])
    assert_same_cameras(through_rig_yaml(from_files, tmp_path), cameras)
    assert from_folder.cameras == tuple(cameras)  # full double precision: bit for bit


def test_easymocap_export_is_readable_the_way_easymocap_reads_it(cameras, tmp_path):
    """EasyMocap reads names as strings, K_/dist_ as matrices, H_/W_ as int(real()) and only R_ (Rodrigues)."""
    intri_path, extri_path = export_rig("easymocap", Rig(tuple(cameras)), tmp_path)
    intri = cv2.FileStorage(str(intri_path), cv2.FILE_STORAGE_READ)
    extri = cv2.FileStorage(str(extri_path), cv2.FILE_STORAGE_READ)
    node = intri.getNode("names")
    assert [node.at(i).string() for i in range(node.size())] == [camera.name for camera in cameras]
    for camera in cameras:
        assert int(intri.getNode(f"H_{camera.name}").real()) == camera.height
        assert int(intri.getNode(f"W_{camera.name}").real()) == camera.width
        assert intri.getNode(f"dist_{camera.name}").mat().shape == (1, 5)
        R = cv2.Rodrigues(extri.getNode(f"R_{camera.name}").mat())[0]
        np.testing.assert_allclose(R, camera.R, atol=1e-12)
        np.testing.assert_allclose(extri.getNode(f"T_{camera.name}").mat().ravel(), camera.t, atol=0)


def test_easymocap_six_decimal_files_import(cameras, tmp_path):
    """Files written by EasyMocap itself (6 decimals): Rot_ snapped to a rotation, 'none' skipped."""
    intri, extri = write_easymocap_style(cameras, tmp_path / "em")
    rig = import_rig("easymocap", [intri, extri])
    assert_same_cameras(through_rig_yaml(rig, tmp_path), cameras, atol=1e-5)


def test_easymocap_missing_image_size_needs_the_option(cameras, tmp_path):
    intri, extri = write_easymocap_style(cameras[:2], tmp_path / "em", sizes=False)
    with pytest.raises(RigError) as error:
        import_rig("easymocap", [intri, extri])
    assert_message(error, str(intri), f"camera '{cameras[0].name}'", f"W_{cameras[0].name}", "image_size",
                   "--image-size", "suggests")
    rig = import_rig("easymocap", [intri, extri], image_size=(1280, 960))
    assert [camera.image_size for camera in rig] == [(1280, 960)] * 2


def test_panoptic_round_trip_converts_cm(cameras, tmp_path):
    path = write_panoptic_json(cameras, tmp_path / "calibration_test.json")
    rig = import_rig("panoptic", [path])
    assert_same_cameras(through_rig_yaml(rig, tmp_path), cameras)
    vga = import_rig("panoptic", [path], camera_type="vga")
    assert vga.names == ["01_01", "01_02"] and vga[0].image_size == (640, 480)


def test_anipose_round_trip(cameras, tmp_path):
    path = write_anipose_toml(cameras, tmp_path / "calibration.toml")
    rig = import_rig("anipose", [path])
    assert_same_cameras(through_rig_yaml(rig, tmp_path), cameras)


def test_anipose_four_distortion_coefficients_mean_k3_zero(cameras, tmp_path):
    rig = import_rig("anipose", [write_anipose_toml(cameras, tmp_path / "c.toml", four_coefficients=True)])
    for camera, reference in zip(rig, cameras):
        np.testing.assert_allclose(camera.dist, [*reference.dist[:4], 0.0], atol=0)


def test_zju_annots_round_trip_converts_mm_and_names_from_folders(cameras, tmp_path):
    folders = [f"Camera_B{i + 1}" for i in range(len(cameras))]
    path = write_zju_annots(cameras, tmp_path / "annots.npy", folders=folders)
    rig = import_rig("zju-annots", [path], allow_pickle=True, image_size=(1280, 960))
    renamed = [camera.replace(name=folder) for camera, folder in zip(cameras, folders)]
    assert_same_cameras(through_rig_yaml(rig, tmp_path), renamed)


def test_zju_annots_default_names_and_size(cameras, tmp_path):
    rig = import_rig("zju-annots", [write_zju_annots(cameras, tmp_path / "annots.npy")], allow_pickle=True)
    assert rig.names == ["00", "01", "02", "03"]
    assert all(camera.image_size == (1024, 1024) for camera in rig)


# --- bad inputs -----------------------------------------------------------------------------------------------------


def test_fisheye_toml_is_refused(cameras, tmp_path):
    path = write_anipose_toml(cameras, tmp_path / "calibration.toml", fisheye=cameras[1].name)
    with pytest.raises(RigError) as error:
        import_rig("anipose", [path])
    assert_message(error, str(path), f"camera '{cameras[1].name}'", "field 'fisheye'",
                   "fisheye cameras are not supported yet")


def test_pickle_needs_allow_pickle(cameras, tmp_path):
    path = write_zju_annots(cameras, tmp_path / "annots.npy")
    with pytest.raises(RigError) as error:
        import_rig("zju-annots", [path])
    assert_message(error, str(path), "pickle", "--allow-pickle", "trust")


def test_panoptic_without_the_camera_type(cameras, tmp_path):
    path = write_panoptic_json(cameras, tmp_path / "calibration_test.json")
    with pytest.raises(RigError) as error:
        import_rig("panoptic", [path], camera_type="kinect-color")
    assert_message(error, str(path), "field 'cameras[].type'", "'kinect-color'", "'hd' (4 cameras)",
                   "'vga' (2 cameras)", "--camera-type")


def test_panoptic_bad_matrix_shape(cameras, tmp_path):
    path = write_panoptic_json(cameras, tmp_path / "calibration_test.json")
    data = json.loads(path.read_text())
    data["cameras"][2]["K"] = [[1.0, 0.0], [0.0, 1.0]]
    path.write_text(json.dumps(data))
    with pytest.raises(RigError) as error:
        import_rig("panoptic", [path])
    assert_message(error, str(path), f"camera '{cameras[2].name}'", "field 'K'", "expected shape (3, 3)")


def test_intri_lacking_k(cameras, tmp_path):
    intri, extri = write_easymocap_style(cameras, tmp_path / "em")
    name = cameras[1].name
    text = intri.read_text().replace(f"K_{name}:", f"Kx_{name}:")
    intri.write_text(text)
    with pytest.raises(RigError) as error:
        import_rig("easymocap", [intri, extri])
    assert_message(error, str(intri), f"camera '{name}'", f"field 'K_{name}'", "expected a 3x3")


def test_non_rotation_rot(cameras, tmp_path):
    intri, extri = write_easymocap_style(cameras, tmp_path / "em")
    name = cameras[2].name
    replace_matrix_data(extri, f"Rot_{name}", cameras[2].R * 1.01)
    with pytest.raises(RigError) as error:
        import_rig("easymocap", [tmp_path / "em"])
    assert_message(error, str(extri), f"camera '{name}'", f"field 'Rot_{name}'", "expected a rotation matrix",
                   "det = 1.0303")


def test_rodrigues_and_matrix_must_agree(cameras, tmp_path):
    intri, extri = write_easymocap_style(cameras[:1], tmp_path / "em")
    name = cameras[0].name
    turned = cv2.Rodrigues(cameras[0].R @ cv2.Rodrigues(np.array([0.0, 0.0, 0.01]))[0])[0]
    replace_matrix_data(extri, f"R_{name}", turned)
    with pytest.raises(RigError) as error:
        import_rig("easymocap", [intri, extri])
    assert_message(error, str(extri), f"camera '{name}'", f"field 'Rot_{name}'", "same rotation",
                   "differ by 0.01 rad")


def test_unparsable_yaml(tmp_path):
    intri = tmp_path / "intri.yml"
    intri.write_text('%YAML:1.0\n---\nnames: ["a"\nK_a: !!opencv-matrix\n')
    (tmp_path / "extri.yml").write_text("%YAML:1.0\n---\n")
    with pytest.raises(RigError) as error:
        import_rig("easymocap", [tmp_path])
    assert_message(error, str(intri), "expected an OpenCV FileStorage YAML file")


def test_missing_source_file(tmp_path):
    with pytest.raises(RigError) as error:
        import_rig("anipose", [tmp_path / "nope.toml"])
    assert_message(error, str(tmp_path / "nope.toml"), "does not exist")


def test_unknown_format_lists_the_formats():
    with pytest.raises(RigError) as error:
        import_rig("anipse", [Path("x.toml")])
    assert_message(error, "field 'format'", "did you mean 'anipose'", ", ".join(FORMATS))


def test_export_to_other_formats_is_refused(cameras, tmp_path):
    with pytest.raises(RigError) as error:
        export_rig("panoptic", Rig(tuple(cameras)), tmp_path)
    assert_message(error, "export to panoptic is not supported; supported: easymocap")


def test_export_refuses_names_that_are_not_filestorage_keys(cameras, tmp_path):
    rig = Rig((cameras[0].replace(name="Camera (1)"),))
    with pytest.raises(RigError) as error:
        export_rig("easymocap", rig, tmp_path)
    assert_message(error, "camera 'Camera (1)'", "field 'name'", "letters, digits")
    assert not (tmp_path / "intri.yml").exists()


def test_image_size_refused_where_the_file_has_it(cameras, tmp_path):
    path = write_anipose_toml(cameras, tmp_path / "calibration.toml")
    with pytest.raises(RigError) as error:
        import_rig("anipose", [path], image_size=(100, 100))
    assert_message(error, "field 'image_size'", "drop image_size")


def test_annots_that_is_not_a_pickle(tmp_path):
    numbers = tmp_path / "numbers.npy"
    np.save(numbers, np.zeros((2, 3)))
    with pytest.raises(RigError) as error:
        import_rig("zju-annots", [numbers])
    assert_message(error, str(numbers), "expected a pickled dict", "float64")
    text = tmp_path / "annots.npy"
    text.write_text("not numpy")
    with pytest.raises(RigError) as error:
        import_rig("zju-annots", [text], allow_pickle=True)
    assert_message(error, str(text), "expected a .npy file")


def test_annots_without_cams(tmp_path):
    path = tmp_path / "annots.npy"
    np.save(path, {"ims": []}, allow_pickle=True)
    with pytest.raises(RigError) as error:
        import_rig("zju-annots", [path], allow_pickle=True)
    assert_message(error, str(path), "field 'cams'", "K, D, R, T")
