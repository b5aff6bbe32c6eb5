"""The BlazePose backend: bundle built from the installed wheel offline, detection on real Pose2Sim frames
near the OpenPose reference, and the message when mediapipe is missing."""

from __future__ import annotations

import socket
import sys
import zipfile

import numpy as np
import pytest
from detect_helpers import decode_frames, needs_mediapipe, needs_pose2sim, openpose_people

from body.detection.blazepose_bundle import BUNDLE_MEMBERS, build_bundle, bundle_path, import_mediapipe
from body.detection.errors import DetectorUnavailableError
from body.keypoint_layouts import get_layout


def test_missing_mediapipe_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` raise ImportError
    expected = r"pip install '\.\[detect\]' && pip install --no-deps mediapipe==0\.10\.14"
    with pytest.raises(DetectorUnavailableError, match=expected):
        import_mediapipe()


@needs_mediapipe
def test_bundle_is_built_from_the_wheel_without_network(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the bundle builder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    path = bundle_path(tmp_path)
    assert path.parent == tmp_path / "mediapipe" and path.suffix == ".task"
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(BUNDLE_MEMBERS)
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        landmarks = archive.read("pose_landmarks_detector.tflite")
    from mediapipe.tasks.python.metadata.metadata import MetadataDisplayer

    metadata = MetadataDisplayer.with_model_buffer(landmarks).get_metadata_json()
    assert '"NormalizationOptions"' in metadata and "255.0" in metadata
    stamp = path.stat().st_mtime_ns
    assert bundle_path(tmp_path) == path and path.stat().st_mtime_ns == stamp  # cached: not rebuilt


@needs_mediapipe
def test_a_broken_cached_bundle_is_rebuilt(tmp_path):
    path = bundle_path(tmp_path)
    path.write_bytes(b"not a zip")
    assert bundle_path(tmp_path) == path and zipfile.is_zipfile(path)
    assert build_bundle(tmp_path / "other.task").is_file()


@needs_mediapipe
def test_detects_nobody_in_a_blank_image(blazepose):
    assert blazepose.detect(np.full((256, 256, 3), 128, dtype=np.uint8)) == []


@needs_mediapipe
@needs_pose2sim
@pytest.mark.parametrize("camera", ["cam01", "cam03"])
def test_finds_the_subject_near_openpose_on_real_frames(blazepose, camera):
    """Frames 0 and 50: the main subject is found, and its common joints lie near OpenPose's BODY_25B ones."""
    body25, body25b = get_layout("body25"), get_layout("body25b")
    common = [name for name in body25.keypoints if name in body25b.keypoints and "toe" not in name]
    for frame, image in decode_frames(camera, [0, 50]).items():
        people = blazepose.detect(image)
        assert people, f"{camera} frame {frame}: nobody detected"
        reference = max(openpose_people(camera, frame), key=lambda p: np.ptp(p[p[:, 2] > 0, 1]))  # tallest
        ref_xy = np.array([reference[body25b.index(n), :2] for n in common])
        ref_ok = np.array([reference[body25b.index(n), 2] > 0.3 for n in common])

        def distances(person):
            xy = np.array([person.keypoints[body25.index(n)] for n in common])
            ok = ref_ok & np.array([person.confidence[body25.index(n)] > 0 for n in common])
            return np.linalg.norm(xy - ref_xy, axis=1)[ok]

        subject = min(people, key=lambda p: np.median(distances(p)))
        d = distances(subject)
        size = np.ptp(ref_xy[ref_ok], axis=0).max()
        assert len(d) >= 12, f"{camera} frame {frame}: only {len(d)} common joints"
        assert np.median(d) < 0.05 * size, f"{camera} frame {frame}: median {np.median(d):.1f} px, box {size:.0f} px"
        assert np.mean(d < 0.1 * size) > 0.8
