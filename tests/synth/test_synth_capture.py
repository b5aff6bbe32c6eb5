"""capture synth: the folder loads as a rig, ground truth agrees with the renders, deterministic, watertight."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest
import trimesh

from calibration.rig_file import load_rig
from render import load_mesh, render
from synth.capture_writer import OBJECT_LABEL, OCCLUDED_CONFIDENCE, keypoint_confidence, write_capture
from synth.scene import make_scene

VOXEL = 0.02  # coarse clothed meshes keep the tests fast; the layout and checks are the same


@pytest.fixture(scope="module")
def close_capture(anny_body, tmp_path_factory):
    out = tmp_path_factory.mktemp("close")
    scene = make_scene(anny_body, "close", 2, num_frames=2, seed=3, num_views=3, image_size=128, voxel_size=VOXEL)
    write_capture(scene, out)
    return out, scene


def _read(path, flags=cv2.IMREAD_UNCHANGED):
    image = cv2.imread(str(path), flags)
    assert image is not None, path
    return image


def test_folder_loads_like_real_data(close_capture):
    out, scene = close_capture
    rig = load_rig(out / "rig.yaml")  # checks that every camera's folders exist
    assert rig.names == scene.rig.names and len(rig) == 3
    layout = rig.layout
    assert layout.keypoint_format == "openpose" and layout.fps == 30.0
    assert list(layout.frames.frames()) == [0, 1]
    for camera in rig.names:
        assert sorted(p.name for p in layout.image_dir(camera).iterdir()) == ["000000.png", "000001.png"]
        assert (layout.keypoint_dir(camera) / "000001.json").is_file()
    description = json.loads((out / "gt" / "scene.json").read_text())
    assert description["category"] == "close" and len(description["people"]) == 2
    assert (out / "gt" / "body_params.json").is_file()


def test_gt_meshes_match_masks_and_are_watertight(close_capture):
    out, _ = close_capture
    rig = load_rig(out / "rig.yaml")
    for frame in ("000000", "000001"):
        paths = sorted((out / "gt" / "meshes" / frame).glob("person_*.ply"))
        assert len(paths) == 2
        meshes = [load_mesh(p) for p in paths]
        for mesh in meshes:
            assert trimesh.Trimesh(mesh.vertices, mesh.faces).is_watertight
        again = render(meshes, list(rig.cameras))
        ids = [int(p.stem.split("_")[1]) for p in paths]
        for v, camera in enumerate(rig.names):
            labels = _read(out / "masks" / camera / f"{frame}.png")
            rendered = np.where(again.instance_id[v] >= 0, np.array([1 + i for i in ids])[again.instance_id[v]], 0)
            for pid in ids:
                a, b = labels == 1 + pid, rendered == 1 + pid
                assert a.any()
                iou = (a & b).sum() / (a | b).sum()
                assert iou >= 0.99, (frame, camera, pid, iou)


def test_keypoints_project_onto_2d_keypoints(close_capture):
    out, _ = close_capture
    rig = load_rig(out / "rig.yaml")
    for frame in ("000000", "000001"):
        gt = json.loads((out / "gt" / "keypoints3d" / f"{frame}.json").read_text())
        points = {person["person_id"]: np.asarray(person["keypoints"]) for person in gt["people"]}
        checked = 0
        for camera in rig.cameras:
            document = json.loads((out / "keypoints" / camera.name / f"{frame}.json").read_text())
            assert document["layout"] == "body25"
            for entry in document["people"]:
                values = np.asarray(entry["pose_keypoints_2d"]).reshape(25, 3)
                seen = values[:, 2] > 0
                projected = camera.project(points[entry["person_id"][0]])
                assert np.abs(projected[seen] - values[seen, :2]).max() < 0.5
                assert set(np.unique(values[:, 2])) <= {0.0, OCCLUDED_CONFIDENCE, 1.0}
                checked += int(seen.sum())
        assert checked > 50


def test_depth_and_normals_are_consistent(close_capture):
    out, _ = close_capture
    depth = _read(out / "gt" / "depth" / "cam00" / "000000.png")
    labels = _read(out / "masks" / "cam00" / "000000.png")
    normal = np.load(out / "gt" / "normals" / "cam00" / "000000.npz")["normal"].astype(np.float32)
    assert depth.dtype == np.uint16 and np.array_equal(depth > 0, labels > 0)
    assert 2000 < depth[depth > 0].mean() < 5000  # people ~3.6 m from the ring cameras
    length = np.linalg.norm(normal[labels > 0], axis=-1)
    assert np.allclose(length, 1.0, atol=0.01) and np.all(normal[labels == 0] == 0)


def test_deterministic_for_a_seed(anny_body, close_capture, tmp_path):
    out, _ = close_capture
    scene = make_scene(anny_body, "close", 2, num_frames=2, seed=3, num_views=3, image_size=128, voxel_size=VOXEL)
    write_capture(scene, tmp_path)
    for relative in ("masks/cam01/000001.png", "images/cam02/000000.png", "keypoints/cam00/000001.json",
                     "gt/meshes/000001/person_1.ply", "gt/body_params.json", "gt/scene.json"):  # fmt: skip
        assert (tmp_path / relative).read_bytes() == (out / relative).read_bytes(), relative


def test_occluded_single_cli_writes_objects(tmp_path):
    from capture.commands import synth

    parser = argparse.ArgumentParser()
    synth.register(parser.add_subparsers())
    args = parser.parse_args(["synth", "--out", str(tmp_path), "--category", "occluded_single", "--views", "4",
                              "--size", "96", "--seed", "2", "--voxel", str(VOXEL)])  # fmt: skip
    assert args.func(args) == 0
    rig = load_rig(tmp_path / "rig.yaml")
    labels = np.stack([_read(tmp_path / "masks" / c / "000000.png") for c in rig.names])
    assert set(np.unique(labels)) <= {0, 1, OBJECT_LABEL} and (labels == 1).any()
    assert (labels == OBJECT_LABEL).any()
    assert list((tmp_path / "gt" / "objects").glob("object_*.ply"))


def test_keypoint_confidence_encodes_visibility():
    rendered = np.full((10, 10), np.inf, np.float32)
    rendered[:, :5] = 2.0  # something at 2 m on the left half
    pixels = np.array([[2.0, 2.0], [2.0, 2.0], [7.0, 7.0], [12.0, 3.0], [7.0, 7.0]])
    depth = np.array([2.05, 3.0, 3.0, 3.0, 3.0])
    available = np.array([True, True, True, True, False])
    assert keypoint_confidence(pixels, depth, available, rendered).tolist() == [1.0, OCCLUDED_CONFIDENCE, 1.0, 0.0, 0.0]
