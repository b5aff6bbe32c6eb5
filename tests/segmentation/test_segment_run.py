"""The stage on files and `capture segment`: a tiny capture (images, masks, plates) and a body-stage run."""

import json
import shutil
from dataclasses import replace

import cv2
import numpy as np
import pytest

from calibration.rig import CaptureLayout, FrameRange, Rig
from calibration.rig_file import save_rig
from capture import cli
from segmentation.labels import index_to_label, label_to_index, read_label_map, read_occluded
from segmentation.metrics import person_iou

FRAMES = (0, 1)


pytestmark = pytest.mark.usefixtures("segment_command")


def main(argv):
    return cli.main(argv)


@pytest.fixture(scope="module")
def capture(tmp_path_factory, natural_scene, write_scene_bodies):
    """(root, scene): root/rig.yaml (images + masks), root/rig_nomasks.yaml, root/plates/<cam>.png, root/run/body/."""
    scene = natural_scene
    root = tmp_path_factory.mktemp("capture")
    (root / "plates").mkdir()
    for v, camera in enumerate(scene.cameras):
        cv2.imwrite(str(root / "plates" / f"{camera.name}.png"), cv2.cvtColor(scene.plates[v], cv2.COLOR_RGB2BGR))
        for frame in FRAMES:
            for folder, image in (("images", cv2.cvtColor(scene.images[v], cv2.COLOR_RGB2BGR)),
                                  ("masks", index_to_label(scene.gt_index[v], scene.person_ids))):  # fmt: skip
                (root / folder / camera.name).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / folder / camera.name / f"{frame:06d}.png"), image)
    layout = CaptureLayout(images=root / "images", masks=root / "masks", frames=FrameRange(0, len(FRAMES)))
    save_rig(Rig(tuple(scene.cameras), layout), root / "rig.yaml")
    save_rig(Rig(tuple(scene.cameras), replace(layout, masks=None)), root / "rig_nomasks.yaml")
    for frame in FRAMES:
        write_scene_bodies(root / "run", scene, frame)
    return root, scene


def _iou(run, scene, frame=0):
    predicted = np.stack([label_to_index(read_label_map(run / "masks" / c.name / f"{frame:06d}.png"), scene.person_ids)
                          for c in scene.cameras])  # fmt: skip
    return person_iou(predicted, scene.gt_index, len(scene.person_ids))


def test_segment_with_capture_masks_then_resume(capture, capsys):
    root, scene = capture
    run = root / "run"
    assert main(["segment", "--rig", str(root / "rig.yaml"), "--run", str(run), "--overlay-frame", "1"]) == 0
    assert "source masks; 2 frame(s) segmented" in capsys.readouterr().out
    assert np.nanmean(_iou(run, scene)) > 0.95
    camera = scene.cameras[0].name
    for person_id in scene.person_ids:
        assert read_occluded(run / "masks" / camera / f"000000_occluded_{person_id}.png").shape == (160, 160)
    record = json.loads((run / "masks" / "segmentation.json").read_text())
    assert record["source"] == "masks" and record["frames"] == {"0": "masks", "1": "masks"}
    overlay = cv2.imread(str(run / "report" / "segmentation" / f"{camera}_000001.png"))
    assert overlay.shape == (160, 160, 3)

    label_file = run / "masks" / camera / "000000.png"
    before = label_file.stat().st_mtime_ns
    assert main(["segment", "--rig", str(root / "rig.yaml"), "--run", str(run), "--frames", "0:1"]) == 0
    assert "0 frame(s) segmented, 1 skipped" in capsys.readouterr().out
    assert label_file.stat().st_mtime_ns == before
    assert main(["segment", "--rig", str(root / "rig.yaml"), "--run", str(run), "--frames", "0:1", "--force"]) == 0
    assert "1 frame(s) segmented" in capsys.readouterr().out


def test_segment_with_a_background_plate(capture, tmp_path, capsys):
    root, scene = capture
    run = tmp_path / "run"
    (run / "body").mkdir(parents=True)
    (run / "body" / "000000.json").write_bytes((root / "run" / "body" / "000000.json").read_bytes())
    assert main(["segment", "--rig", str(root / "rig.yaml"), "--run", str(run), "--background", str(root / "plates")]) == 0
    assert "source background" in capsys.readouterr().out
    assert np.nanmean(_iou(run, scene)) > 0.9


def test_segment_without_masks_uses_grabcut(capture, tmp_path, capsys):
    root, scene = capture
    run = tmp_path / "run"
    (run / "body").mkdir(parents=True)
    (run / "body" / "000001.json").write_bytes((root / "run" / "body" / "000001.json").read_bytes())
    assert main(["segment", "--rig", str(root / "rig_nomasks.yaml"), "--run", str(run)]) == 0
    assert "source grabcut" in capsys.readouterr().out
    assert np.nanmean(_iou(run, scene, frame=1)) > 0.8


def test_segment_reports_bad_arguments(capture, tmp_path, capsys):
    root, _ = capture
    assert main(["segment", "--rig", str(root / "rig.yaml"), "--run", str(root / "run"), "--chroma", "0,300"]) == 2
    assert "--chroma: expected R,G,B" in capsys.readouterr().err
    assert main(["segment", "--rig", str(root / "rig.yaml"), "--run", str(tmp_path)]) == 2
    assert "body stage's <frame>.json" in capsys.readouterr().err


def test_a_corrupt_capture_mask_is_named(capture, tmp_path, capsys):
    root, scene = capture
    copy = tmp_path / "capture"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("run"))
    shutil.copytree(root / "run" / "body", tmp_path / "run" / "body")
    bad = copy / "masks" / scene.cameras[1].name / "000000.png"
    bad.write_bytes(b"not a png")
    assert main(["segment", "--rig", str(copy / "rig.yaml"), "--run", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: expected a readable mask image" in err and "Traceback" not in err
