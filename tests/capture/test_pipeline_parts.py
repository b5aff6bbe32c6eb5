"""Pieces of the pipeline alone: vertex colours from several views, executors, model resolution, report helpers,
the viewer's headless screenshot."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.camera import Camera, look_at_rotation
from capture.colors import ColorError, color_mesh
from capture.executors import ExecutorError, InlineExecutor, LocalExecutor, make_executor
from capture.pipeline import PipelineError, ReconstructConfig, choose_method, parse_frames, resolve_model
from capture.report import _stage_rows, report_frames, silhouette_iou
from capture.run_record import RunRecord, StageRecord
from render.primitives import icosphere


def camera_at(name: str, centre, size: int = 64) -> Camera:
    centre = np.asarray(centre, float)
    R = look_at_rotation(centre, np.zeros(3), up=np.array([0.0, 0.0, 1.0]))
    K = np.array([[80.0, 0, (size - 1) / 2], [0, 80.0, (size - 1) / 2], [0, 0, 1]])
    return Camera(name, size, size, K, np.zeros(5), R, -R @ centre)


def solid(rgb, size: int = 64) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, np.uint8), (size, size, 3)).copy()


def test_colours_come_from_every_view_weighted_by_the_view_angle():
    sphere = icosphere(radius=0.5, subdivisions=3)
    cameras = [camera_at("red", [3.0, 0, 0]), camera_at("blue", [0, 3.0, 0])]
    coloured, views = color_mesh(sphere, cameras, [solid((255, 0, 0)), solid((0, 0, 255))])
    v, c = sphere.vertices, coloured.colors
    facing_red = (v[:, 0] > 0.45) & (np.abs(v[:, 1]) < 0.1)  # the blue camera sees these from behind: not used
    facing_blue = (v[:, 1] > 0.45) & (np.abs(v[:, 0]) < 0.1)
    assert np.all(c[facing_red] > [0.99, -1, -1]) and np.all(c[facing_red, 2] < 0.01) and np.all(views[facing_red] == 1)
    assert np.all(c[facing_blue, 2] > 0.99) and np.all(c[facing_blue, 0] < 0.01) and np.all(views[facing_blue] == 1)
    both = (views == 2)
    assert both.sum() > 20  # the quarter between the cameras is seen by both and blends them
    diagonal = both & (np.abs(v[:, 0] - v[:, 1]) < 0.05)
    assert np.allclose(c[diagonal, 0], c[diagonal, 2], atol=0.1)  # equal angles, equal weights
    nearer_red = both & (v[:, 0] > v[:, 1] + 0.2)
    assert np.all(c[nearer_red, 0] > c[nearer_red, 2])  # the more frontal view weighs more
    back = (v[:, 0] < -0.3) & (v[:, 1] < -0.3)
    assert np.all(views[back] == 0) and np.all(c[back].sum(1) > 0.5)  # unseen: nearest seen colour, not black


def test_occluded_vertices_and_disallowed_pixels_do_not_colour():
    near = icosphere(radius=0.3, subdivisions=2)
    far = icosphere(radius=0.3, subdivisions=2)
    from render import Mesh

    two = Mesh(np.vstack([near.vertices + [1.0, 0, 0], far.vertices - [1.0, 0, 0]]),
               np.vstack([near.faces, far.faces + near.num_vertices]))  # fmt: skip
    camera = camera_at("x", [4.0, 0.0, 0.0])
    _, views = color_mesh(two, [camera], [solid((0, 255, 0))])
    hidden = two.vertices[:, 0] > -0.75  # the far sphere's front half hides behind the near sphere
    far_part = np.arange(two.num_vertices) >= near.num_vertices
    assert views[far_part & (two.vertices[:, 0] > -1.0) & (np.abs(two.vertices[:, 1]) < 0.1) & (np.abs(two.vertices[:, 2]) < 0.1)].sum() == 0
    assert views[~far_part & hidden].max() == 1
    _, none = color_mesh(two, [camera], [solid((0, 255, 0))], allowed=[np.zeros((64, 64), bool)])
    assert none.sum() == 0
    with pytest.raises(ColorError, match="expected 1 views"):
        color_mesh(two, [camera], [solid((0, 0, 0)), solid((0, 0, 0))])


def test_executors_return_every_result_and_report_failures():
    from math import factorial  # importable by worker processes; factorial(-1) raises ValueError

    tasks = [0, 1, 2, -1, 4, 5]
    assert isinstance(make_executor("local", 1), InlineExecutor)
    inline = dict(InlineExecutor().run(factorial, tasks))
    pooled = dict(LocalExecutor(2).run(factorial, tasks))
    expected = {0: 1, 1: 1, 2: 2, 4: 24, 5: 120}
    assert {k: v for k, v in inline.items() if k >= 0} == {k: v for k, v in pooled.items() if k >= 0} == expected
    assert isinstance(inline[-1], ValueError) and isinstance(pooled[-1], ValueError)
    with pytest.raises(ExecutorError, match="--workers: expected >= 1, got 0"):
        make_executor("local", 0)
    with pytest.raises(ExecutorError, match="--executor: expected one of local, ray, got 'dask'"):
        make_executor("dask")


def test_model_presets_without_weights_say_so_and_fall_back(tmp_path, monkeypatch):
    import implicit.training

    monkeypatch.setattr(implicit.training, "SHIPPED_WEIGHTS_DIR", tmp_path / "weights")
    with pytest.raises(PipelineError, match=r"--model small: no trained weights at .*small.pt.*capture train.*--method visual-hull"):
        resolve_model("small")
    config = ReconstructConfig(rig=tmp_path / "rig.yaml", out=tmp_path)
    method, path, note = choose_method(config)
    assert method == "visual-hull" and path is None and note.startswith("falling back to the visual hull")
    with pytest.raises(PipelineError, match="no trained weights"):
        choose_method(ReconstructConfig(rig=tmp_path, out=tmp_path, method="network"))
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "full.pt").write_bytes(b"x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "latest.pt").write_bytes(b"x")
    assert resolve_model("full") == tmp_path / "weights" / "full.pt"
    assert resolve_model(str(tmp_path / "mine")) == tmp_path / "mine" / "latest.pt"
    assert choose_method(ReconstructConfig(rig=tmp_path, out=tmp_path, model="full"))[0] == "network"
    with pytest.raises(PipelineError, match="does not exist"):
        resolve_model(str(tmp_path / "nothing.pt"))


def test_small_helpers():
    assert parse_frames("2:10:2").frames() == range(2, 10, 2) and parse_frames(None) is None
    assert parse_frames("5:").start == 5 and parse_frames("5:").stop is None
    assert report_frames(list(range(100)), 3) == [0, 50, 99] and report_frames([4, 5], 10) == [4, 5]
    a = np.zeros((4, 4), bool)
    b = a.copy()
    a[:2] = True
    b[1:3] = True
    assert silhouette_iou(a, b) == pytest.approx(4 / 12) and silhouette_iou(a & False, b & False) == 1.0


def _record(run_dir, stages: dict[str, StageRecord]) -> RunRecord:
    inputs = {"rig": {"path": "rig.yaml", "sha256": "0"}, "files": {}}
    record = RunRecord(run_dir, config={}, stage_configs={}, settings={"method": "visual-hull"}, versions={}, inputs=inputs)
    for name, stage in stages.items():
        record.stage(name, stage)
    record.update(status="finished")
    return record


def test_report_timings_say_when_an_earlier_run_did_a_skipped_stage(tmp_path):
    _record(tmp_path, {"body": StageRecord("done", seconds=40.7, done=3)})
    _record(tmp_path, {"body": StageRecord("skipped", skipped=3)})
    third = _record(tmp_path, {"body": StageRecord("skipped", skipped=3), "scene": StageRecord("done", seconds=0.5)})
    assert [entry["stages"]["body"]["status"] for entry in third.document["history"]] == ["done", "skipped"]
    rows = _stage_rows(third)
    assert "<td>done by an earlier run in 40.7 s</td>" in rows and rows.count("earlier run") == 1
    assert third.method == "visual-hull" and list(third.stage_records()) == ["body", "scene"]


def test_viewer_screenshot_is_headless_and_shows_the_meshes(tmp_path):
    from render import save_mesh
    from capture.viewer import frame_geometry, frustum_corners, screenshot

    sphere = icosphere(radius=0.5, subdivisions=2)
    save_mesh(tmp_path / "scene" / "000003.ply", type(sphere)(sphere.vertices, sphere.faces, colors=np.tile([0.9, 0.1, 0.1], (sphere.num_vertices, 1))))
    camera = camera_at("c", [3.0, 0, 1.0])
    corners = frustum_corners(camera)
    assert np.allclose(corners[0], camera.center) and np.allclose(camera.world_to_camera(corners[1:])[:, 2], 0.4)
    merged = frame_geometry(tmp_path, 3, [camera])
    assert merged.num_vertices == sphere.num_vertices + 8 * 8  # the sphere and 8 frustum edges of 8 vertices
    import cv2

    path = screenshot(merged, tmp_path / "shot.png", (160, 120))
    image = cv2.imread(str(path))
    assert image.shape == (120, 160, 3)
    reddish = (image[..., 2] > 120) & (image[..., 0] < 90)
    assert reddish.sum() > 100  # the red sphere is in the picture
