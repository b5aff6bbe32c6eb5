"""The benchmark runner and report on a tiny bench of capsule 'people' written in the benchmark layout."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest
import trimesh

from calibration.ring_rig import ring_rig
from capture.commands import eval as eval_command
from multihuman_eval.benchmark import (
    OBJECT_LABEL,
    MultiHumanConfig,
    discover_scenes,
    load_scene,
    prepare_multihuman,
    write_bench_scene,
    write_manifest,
)
from multihuman_eval.methods import MethodConfig, MethodError, build_methods, method_names
from multihuman_eval.report import category_table
from multihuman_eval.runner import read_result, result_path, run_benchmark
from render.primitives import box, capsule

SIZE = 128
RADIUS, HEIGHT, INSET = 0.2, 1.7, 0.03


def person(x: float, inset: float = 0.0):
    """An upright capsule 'person' at (x, 0); `inset` shrinks it by that many metres on every side."""
    return capsule(RADIUS - inset, HEIGHT - 2 * inset, center=(x, 0.0, HEIGHT / 2), sections=48)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """Two scenes, 4 views of 128^2: 'single' (one capsule) and 'two_close' (two capsules 10 cm apart, plus a
    box in front of them as an object); bodies are the capsules shrunk by 3 cm."""
    root = tmp_path_factory.mktemp("bench")
    cameras = list(ring_rig(4, radius=3.5, height=1.5, target=(0.0, 0.0, 0.85), image_size=(SIZE, SIZE), fov_deg=50.0).cameras)
    layouts = {"single/000": ("single", [0.0], []),
               "two_close/000": ("two_close", [-0.25, 0.25], [box((0.3, 0.3, 0.6), center=(0.0, -1.0, 0.3))])}  # fmt: skip
    for folder, (category, xs, objects) in layouts.items():
        people = {i: person(x) for i, x in enumerate(xs)}
        bodies = {i: person(x, INSET) for i, x in enumerate(xs)}
        write_bench_scene(root / folder, cameras, people, category, bodies, objects)
    write_manifest(root, [(layouts[f][0], f) for f in layouts], "test")
    return root


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    eval_command.register(parser.add_subparsers())
    args = parser.parse_args(["eval", *argv])
    return args.func(args)


def test_scene_loading_and_unobserved_pixels(bench):
    scenes = discover_scenes(bench)
    assert [s.name for s in scenes] == ["single/000", "two_close/000"]
    data = load_scene(scenes[1])
    assert data.person_ids == [0, 1] and data.images.shape == (4, SIZE, SIZE, 3)
    assert data.body_source == "gt meshes"
    assert (data.labels == OBJECT_LABEL).any()
    for pid, other in ((0, 1), (1, 0)):
        unknown = data.unobserved(pid)
        # the other person and the object are unknown for this person, never its own pixels or the background
        assert np.array_equal(unknown, (data.labels == other + 1) | (data.labels == OBJECT_LABEL))
        assert not (unknown & data.person_mask(pid)).any()


def test_report_files_methods_and_hand_computable_numbers(bench, tmp_path):
    out = tmp_path / "report"
    argv = ["--bench", str(bench), "--methods", "visual-hull,body-only", "--out", str(out),
            "--resolution", "64", "--samples", "3000", "--worst", "1"]  # fmt: skip
    assert run_cli(argv) == 0
    rows = list(csv.DictReader((out / "scenes.csv").open()))
    assert sorted({(r["method"], r["scene"], r["person_id"]) for r in rows}) == sorted(
        (m, s, p) for m in ("visual-hull", "body-only") for s, p in
        (("single/000", "0"), ("two_close/000", "0"), ("two_close/000", "1"))
    )  # fmt: skip
    scale_cm = 1.80 / HEIGHT * 100.0
    for r in rows:
        assert r["status"] == "ok"
        if r["method"] == "body-only":  # the body is the GT offset inwards by 3 cm everywhere
            assert float(r["chamfer_cm"]) == pytest.approx(INSET * scale_cm, rel=0.03)
        else:  # a visual hull contains the shape: extra volume, so rec -> GT exceeds GT -> rec
            assert float(r["p2s_rec_to_gt_cm"]) > float(r["p2s_gt_to_rec_cm"])
    hull = {(r["scene"], r["person_id"]): float(r["p2s_rec_to_gt_cm"]) for r in rows if r["method"] == "visual-hull"}
    single = next(float(r["chamfer_cm"]) for r in rows if r["method"] == "visual-hull" and r["scene"] == "single/000")
    assert 0.5 < single < 4.0  # 4 views of a capsule on a 3 cm grid: a few cm
    # the neighbour's pixels are unknown, not background, so they carve nothing: extra volume towards them
    assert min(hull[("two_close/000", "0")], hull[("two_close/000", "1")]) > hull[("single/000", "0")]
    table = (out / "table.md").read_text()
    assert "| visual-hull |" in table and "| body-only |" in table
    assert "single Chamfer" in table and "two_close P2S" in table and "--resolution 64" in table
    body_single = next(r for r in rows if r["method"] == "body-only" and r["scene"] == "single/000")
    assert f"{float(body_single['chamfer_cm']):.2f}" in table.split("| body-only |")[1].split("\n")[0]
    for png in [out / "bars.png", *sorted((out / "worst").rglob("*.png"))]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((out / "worst").rglob("*.png"))) == 2  # one per method


def test_runner_resumes_and_recomputes_on_new_settings(bench, tmp_path):
    scenes = discover_scenes(bench)
    calls = []

    def counting(scene, pid):
        calls.append((scene.scene.name, pid))
        return scene.body(pid).mesh

    settings = {"resolution": 64}
    first = run_benchmark(scenes, {"counting": counting}, tmp_path, settings)
    assert len(calls) == 3 and all(len(r.ok_persons) == len(r.persons) for r in first)
    again = run_benchmark(scenes, {"counting": counting}, tmp_path, settings)
    assert len(calls) == 3  # every scene cached
    assert [r.mean("chamfer_cm") for r in again] == [r.mean("chamfer_cm") for r in first]
    run_benchmark(scenes, {"counting": counting}, tmp_path, {"resolution": 128})
    assert len(calls) == 6  # other settings: recomputed
    run_benchmark(scenes[:1], {"counting": counting}, tmp_path, {"resolution": 128}, force=True)
    assert len(calls) == 7
    saved = read_result(result_path(tmp_path, "counting", scenes[1]))
    assert saved.settings["resolution"] == 128 and [p.person_id for p in saved.persons] == [0, 1]


def test_category_averages_count_every_person_once(bench, tmp_path):
    scenes = discover_scenes(bench)
    results = run_benchmark(scenes, build_methods("body-only"), tmp_path, {})
    table = category_table(results)["body-only"]
    persons = [p.chamfer_cm for r in results for p in r.persons]
    assert table["two_close"].persons == 2 and table["all"].persons == 3
    assert table["all"].chamfer_cm == pytest.approx(np.mean(persons))


def test_method_names_are_checked():
    assert method_names("visual-hull, body-only,visual-hull") == ["visual-hull", "body-only"]
    with pytest.raises(MethodError, match="unknown method 'hull'"):
        method_names("hull")
    with pytest.raises(MethodError, match="unknown method 'ours:fast'"):
        method_names("ours:fast")
    with pytest.raises(MethodError, match="no checkpoint"):  # no_body_volume is not shipped
        build_methods("ours:no_body_volume", MethodConfig())


def test_multihuman_release_is_rendered_into_a_benchmark(tmp_path):
    """A fake release (y-up, unit-less scans 'normalised' to half size, per-scene layout) with an object."""
    release = tmp_path / "release" / "two_closely_inter" / "scene_07"
    to_y_up = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # inverse of the loader's y-up -> z-up map
    for k, x in enumerate((-0.3, 0.3)):
        for folder, inset in (("obj", 0.0), ("smplx", INSET)):
            mesh = person(x, inset)
            (release / folder).mkdir(parents=True, exist_ok=True)
            trimesh.Trimesh(0.5 * mesh.vertices @ to_y_up.T, mesh.faces).export(release / folder / f"p{k}.obj")
    crate = box((0.4, 0.4, 0.4), center=(0.0, -0.8, 0.2))
    parts = [person(x) for x in (-0.3, 0.3)] + [crate]
    scene_all = trimesh.util.concatenate([trimesh.Trimesh(0.5 * m.vertices @ to_y_up.T, m.faces) for m in parts])
    (release / "obj_all").mkdir()
    scene_all.export(release / "obj_all" / "scene_07.obj")

    scenes = prepare_multihuman(tmp_path / "release", tmp_path / "bench", MultiHumanConfig(views=3, image_size=96))
    assert [(s.name, s.category) for s in scenes] == [("two_close/000", "two_close")]
    data = load_scene(scenes[0])
    assert len(data.cameras) == 3 and data.person_ids == [0, 1]
    for pid in (0, 1):
        extent = np.ptp(data.gt_meshes[pid].vertices, axis=0)
        assert extent[2] == pytest.approx(1.70, abs=1e-6)  # z up, median person scaled to 1.70 m
        assert data.person_mask(pid).any()
        assert np.ptp(data.body(pid).mesh.vertices[:, 2]) == pytest.approx(1.70 - 2 * INSET * 1.70 / HEIGHT, abs=1e-3)
    assert data.gt_meshes[0].vertices[:, 2].min() == pytest.approx(0.0, abs=1e-6)
    assert (data.labels == OBJECT_LABEL).any()  # the crate, and only the crate, became an object
    objects = json.loads((scenes[0].path / "gt" / "scene.json").read_text())
    assert objects["release_scene"] == "scene_07"


def test_bodies_from_parameters_pick_the_right_person_and_frame():
    import torch

    from body import shared_body
    from multihuman_eval.benchmark import bodies_from_params

    body = shared_body("anny")
    params = body.neutral_params((2, 3))  # 2 people x 3 frames
    params = type(params)(shape=params.shape, pose_aa=params.pose_aa, global_rot_aa=params.global_rot_aa,
                          transl=params.transl + torch.tensor([[[0.0, 0.0, 0.0]], [[1.5, 0.0, 0.0]]]))  # fmt: skip
    bodies = bodies_from_params(params, "anny", {7: (1, 2), 3: (0, 0)})
    assert sorted(bodies) == [3, 7]
    shift = bodies[7].mesh.vertices.mean(0) - bodies[3].mesh.vertices.mean(0)
    assert np.allclose(shift, [1.5, 0.0, 0.0], atol=1e-4)
    assert bodies[7].surface.rest_vertices.shape == bodies[7].mesh.vertices.shape
