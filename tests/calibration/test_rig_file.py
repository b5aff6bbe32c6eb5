"""rig.yaml: round trip, units, capture layout, and one test per kind of bad input checking the message."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration.errors import RigError
from calibration.rig import CaptureLayout, FrameRange, Rig
from calibration.rig_file import load_rig, rig_to_dict, save_rig
from calibration.ring_rig import ring_rig


@pytest.fixture
def rig() -> Rig:
    return ring_rig(4, distortion=(-0.1, 0.01, 0.001, 0.0, 0.0), jitter=0.5, seed=3)


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def make_capture(tmp_path: Path, names) -> None:
    for kind in ("images", "masks", "keypoints"):
        for name in names:
            (tmp_path / kind / name).mkdir(parents=True)


def test_round_trip_is_exact(tmp_path, rig):
    path = save_rig(rig, tmp_path / "rig.yaml")
    loaded = load_rig(path)
    assert loaded.cameras == rig.cameras
    assert loaded.source == path


def test_round_trip_with_capture_layout(tmp_path, rig):
    make_capture(tmp_path, ["c0", "cam01", "cam02", "cam03"])
    layout = CaptureLayout(
        images=tmp_path / "images",
        masks=tmp_path / "masks",
        keypoints=tmp_path / "keypoints",
        keypoint_format="openpose",
        frames=FrameRange(5, 50, 2),
        fps=30.0,
        camera_folders={"cam00": "c0"},
    )
    path = save_rig(Rig(rig.cameras, layout), tmp_path / "rig.yaml")
    text = path.read_text()
    assert "images: images" in text and "folder: c0" in text  # relative paths, folder mapping
    loaded = load_rig(path)
    assert loaded.layout == layout
    assert loaded.layout.image_dir("cam00") == tmp_path / "images" / "c0"
    assert list(loaded.layout.frames.frames()) == list(range(5, 50, 2))


def test_units_and_rodrigues(tmp_path, rig):
    data = rig_to_dict(rig)
    camera = data["cameras"][0]
    import cv2

    camera["rvec"] = cv2.Rodrigues(np.array(camera.pop("R")))[0].ravel().tolist()
    data["units"] = "mm"
    for entry in data["cameras"]:
        entry["t"] = (np.array(entry["t"]) * 1000.0).tolist()
    loaded = load_rig(write_yaml(tmp_path / "rig.yaml", data))
    for a, b in zip(loaded, rig):
        assert np.allclose(a.t, b.t, atol=1e-12) and np.allclose(a.R, b.R, atol=1e-12)


def bad_rig_error(tmp_path: Path, rig: Rig, edit, check_paths: bool = True) -> RigError:
    data = rig_to_dict(rig)
    edit(data)
    path = write_yaml(tmp_path / "rig.yaml", data)
    with pytest.raises(RigError) as info:
        load_rig(path, check_paths=check_paths)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return info.value


def test_wrong_matrix_shape(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d["cameras"][1].update(K=[[500, 0, 1], [0, 500, 1]]))
    assert "camera 'cam01': field 'K': expected shape (3, 3), got shape (2, 3)" in str(error)


def test_non_rotation_determinant(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d["cameras"][2].update(R=np.diag([1.0, -1.0, 1.0]).tolist()))
    assert "camera 'cam02': field 'R'" in str(error) and "det = -1" in str(error)


def test_non_orthonormal_rotation(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d["cameras"][0].update(R=(np.eye(3) * 1.001).tolist()))
    assert "camera 'cam00': field 'R': expected a rotation matrix" in str(error)


def test_negative_focal_length(tmp_path, rig):
    def edit(data):
        data["cameras"][3]["K"][1][1] = -400.0

    error = bad_rig_error(tmp_path, rig, edit)
    assert "camera 'cam03': field 'K': expected positive focal lengths" in str(error) and "fy = -400" in str(error)


def test_nan(tmp_path, rig):
    def edit(data):
        data["cameras"][0]["t"][2] = float("nan")

    error = bad_rig_error(tmp_path, rig, edit)
    assert "camera 'cam00': field 't': expected finite numbers" in str(error)


def test_missing_images_folder(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d.update(capture={"images": "no_such_images"}))
    assert "field 'capture.images': expected an existing folder" in str(error) and "no_such_images" in str(error)


def test_missing_camera_subfolder(tmp_path, rig):
    make_capture(tmp_path, ["cam00", "cam01", "cam02"])  # cam03 has no data
    error = bad_rig_error(tmp_path, rig, lambda d: d.update(capture={"images": "images"}))
    assert "camera 'cam03': field 'capture.images'" in str(error) and "set 'folder'" in str(error)


def test_missing_paths_are_fine_when_not_checked(tmp_path, rig):
    data = rig_to_dict(rig)
    data["capture"] = {"images": "no_such_images"}
    assert load_rig(write_yaml(tmp_path / "rig.yaml", data), check_paths=False).layout.images is not None


def test_duplicate_camera_names(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d["cameras"][2].update(name="cam00"))
    assert "camera 'cam00': field 'name': duplicate camera name" in str(error)


def test_unknown_camera_key_suggests_the_right_one(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d["cameras"][1].update(distortion=[0] * 5))
    assert "camera 'cam01': field 'distortion': unknown key 'distortion' in a camera; did you mean 'dist'?" in str(error)


def test_unknown_top_level_and_capture_keys(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d.update(camera=[]))
    assert "unknown key 'camera' in the top level; did you mean 'cameras'?" in str(error)
    error = bad_rig_error(tmp_path, rig, lambda d: d.update(capture={"image": "images"}))
    assert "unknown key 'image' in capture; did you mean 'images'?" in str(error)


def test_missing_required_field(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d["cameras"][0].pop("K"))
    assert "camera 'cam00': field 'K': missing required field" in str(error)


def test_both_r_and_rvec(tmp_path, rig):
    error = bad_rig_error(tmp_path, rig, lambda d: d["cameras"][0].update(rvec=[0.0, 0.0, 0.0]))
    assert "exactly one of 'R'" in str(error)


def test_bad_units_frames_and_fps(tmp_path, rig):
    assert "field 'units': expected one of m, cm, mm, got 'inch'" in str(
        bad_rig_error(tmp_path, rig, lambda d: d.update(units="inch"))
    )
    error = bad_rig_error(tmp_path, rig, lambda d: d.update(capture={"frames": [10, 5]}), check_paths=False)
    assert "field 'capture.frames.stop': expected an integer >= 11, got 5" in str(error)
    error = bad_rig_error(tmp_path, rig, lambda d: d.update(capture={"fps": -30}), check_paths=False)
    assert "field 'capture.fps': expected a positive number" in str(error)


def test_not_yaml_and_missing_file(tmp_path):
    path = tmp_path / "rig.yaml"
    path.write_text("cameras: [unclosed\n")
    with pytest.raises(RigError, match=r"rig.yaml: not valid YAML"):
        load_rig(path)
    with pytest.raises(RigError, match="does not exist"):
        load_rig(tmp_path / "absent.yaml")


def test_rig_lookup_and_center(rig):
    assert rig["cam02"] is rig[2] and rig.index("cam03") == 3
    with pytest.raises(KeyError, match="no camera named 'x'"):
        rig["x"]
    perfect = ring_rig(6, target=(0.5, -0.2, 1.0))
    assert np.allclose(perfect.center, [0.5, -0.2, 1.0], atol=1e-9)


def test_frame_range_parse():
    assert FrameRange.parse("5:50:2") == FrameRange(5, 50, 2)
    assert FrameRange.parse(":10") == FrameRange(0, 10, 1) and FrameRange.parse("3:") == FrameRange(3, None, 1)
    for bad in ("a:b", "1:2:3:4", "1.5:3"):
        with pytest.raises(ValueError, match="expected START:STOP\\[:STEP\\] with integers"):
            FrameRange.parse(bad)
