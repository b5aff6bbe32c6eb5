"""Synthetic studio timings: render of a 3-person frame into 6 views at 512^2, clothed-person build and pose,
and the generation time of one training sample (scene + render + write). Updates `## Synthetic studio` in
docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_synth.py
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchmarks_doc import BENCHMARKS, write_section  # noqa: E402
from body.anny_body import AnnyBody  # noqa: E402
from render import render  # noqa: E402
from synth.capture_writer import RENDER_SETTINGS, write_capture  # noqa: E402
from synth.scene import make_scene  # noqa: E402

HEADING = "## Synthetic studio"


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    body = AnnyBody()
    start = time.perf_counter()
    scene = make_scene(body, "natural", 3, 1, seed=7, num_views=6, image_size=512)
    scene_s = time.perf_counter() - start
    people, objects = scene.frame_meshes(0)
    meshes = [m for _, m in people] + objects
    faces = sum(m.num_faces for m in meshes)
    render(meshes, list(scene.rig.cameras), RENDER_SETTINGS)  # compile
    render_s, _ = timed(lambda: render(meshes, list(scene.rig.cameras), RENDER_SETTINGS), 5)
    output = scene.body_output()
    pose_s, _ = timed(lambda: scene.people[0].mesh(output.joint_transforms[0, 0]), 5)
    from synth.clothing import random_outfit
    from synth.person import build_person
    import numpy as np

    build_s, person = timed(lambda: build_person(body, np.full(6, 0.5), random_outfit(np.random.default_rng(3))), 3)
    sample_times = []
    for seed in range(3):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            sample = make_scene(body, "natural", 2, 1, seed=100 + seed, num_views=6, image_size=512)
            write_capture(sample, folder)
            sample_times.append(time.perf_counter() - start)
    sample_s = statistics.median(sample_times)
    rows = [
        ("render 3 clothed people, 6 views x 512^2 (after compilation, median of 5)", f"{render_s:.3f}", f"{faces:,} faces"),
        ("build one clothed person (rest pose, 1 cm voxels, median of 3)", f"{build_s:.2f}", f"{len(person.faces):,} faces"),
        ("pose one clothed person (LBS, median of 5)", f"{pose_s:.3f}", ""),
        ("make_scene, 3 people (motion + 3 builds)", f"{scene_s:.2f}", ""),
        ("one training sample: 2 people, 1 frame, 6 views 512^2 (scene + render + write, median of 3)", f"{sample_s:.2f}", ""),
    ]
    for name, value, note in rows:
        print(f"{name}: {value} s {note}")
    goal = "met" if render_s <= 0.5 else "not met"
    section = "\n".join([
        HEADING, "",
        f"Command: `.venv/bin/python bench/bench_synth.py` (2-core CPU, no GPU, 2026-11-21; Python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; other jobs shared the CPU, so times are upper bounds).",
        "", "| step | seconds | note |", "| --- | ---: | --- |",
        *[f"| {name} | {value} | {note} |" for name, value, note in rows], "",
        f"Render goal (<= 0.5 s for 6 views x 512^2 of a 3-person frame): {goal} ({render_s:.3f} s).", "",
    ])  # fmt: skip
    write_section(HEADING, section)
    print(f"updated {BENCHMARKS}")


if __name__ == "__main__":
    main()
