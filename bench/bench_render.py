"""Render benchmark: 6 views x 512^2 of a frame with 3 person-sized meshes (~25k faces each).

Reports Taichi compile time (first call) separately from the steady-state render time, and compares with
Open3D's RaycastingScene casting depth-only rays through every pixel of the same scene in the same run.
Writes its section `## Rendering` of docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_render.py [--repeats 10] [--no-write]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402
from calibration.ring_rig import ring_rig  # noqa: E402
from render import Mesh, render  # noqa: E402
from render.backend import init_taichi  # noqa: E402
from render.primitives import capsule  # noqa: E402

SECTION = "## Rendering"
logger = logging.getLogger("bench_render")


def make_frame() -> tuple[list[Mesh], list]:
    """Three capsule 'people' 1.6-1.8 m tall close together, seen by a ring of 6 cameras at 512^2."""
    people = [
        capsule(0.22, 1.75, center=(-0.45, 0.0, 0.875), sections=112, color=(0.8, 0.3, 0.3)),
        capsule(0.20, 1.65, center=(0.35, 0.25, 0.825), sections=112, color=(0.3, 0.7, 0.3)),
        capsule(0.21, 1.80, center=(0.10, -0.45, 0.900), sections=112, color=(0.3, 0.3, 0.8)),
    ]
    cameras = list(ring_rig(6, radius=3.5, height=1.5, image_size=(512, 512), fov_deg=50.0).cameras)
    return people, cameras


def open3d_depth(meshes: list[Mesh], cameras) -> tuple[float, float, np.ndarray]:
    """Open3D baseline: (BVH build s, ray cast s, (V, H, W) depth) for rays through every pixel centre."""
    import open3d as o3d

    start = time.perf_counter()
    scene = o3d.t.geometry.RaycastingScene()
    for mesh in meshes:
        scene.add_triangles(
            o3d.core.Tensor(mesh.vertices.astype(np.float32)), o3d.core.Tensor(mesh.faces.astype(np.uint32))
        )
    rays = []
    for camera in cameras:
        xs, ys = np.meshgrid(np.arange(camera.width), np.arange(camera.height))
        pixels = np.stack([xs, ys, np.ones_like(xs)], axis=-1).astype(np.float64)
        directions = pixels @ np.linalg.inv(camera.K).T @ camera.R  # unit camera z: t_hit = depth
        rays.append(np.concatenate([np.broadcast_to(camera.center, directions.shape), directions], axis=-1))
    rays = o3d.core.Tensor(np.stack(rays).astype(np.float32))
    scene.cast_rays(rays[:1, :1, :1])  # builds the BVH
    build = time.perf_counter() - start
    start = time.perf_counter()
    depth = scene.cast_rays(rays)["t_hit"].numpy()
    return build, time.perf_counter() - start, depth


def first_render_seconds() -> tuple[float, float]:
    """(taichi init s, first render s) of this process's first render of the frame."""
    meshes, cameras = make_frame()
    start = time.perf_counter()
    init_taichi()
    init_s = time.perf_counter() - start
    start = time.perf_counter()
    render(meshes, cameras)
    return init_s, time.perf_counter() - start


def cold_first_render_seconds() -> float:
    """First render in a fresh process with Taichi's offline kernel cache off: compilation from scratch."""
    env = dict(os.environ, TI_OFFLINE_CACHE="0")
    result = subprocess.run(
        [sys.executable, __file__, "--first-render-only"], env=env, capture_output=True, text=True, check=True
    )
    return float(result.stdout.split()[-1])



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed renders after the first one")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/BENCHMARKS.md")
    parser.add_argument("--first-render-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats: expected >= 1, got {args.repeats}")
    if args.first_render_only:
        print(first_render_seconds()[1])
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    load_before = os.getloadavg()[0]
    cold_s = cold_first_render_seconds()
    init_s, first_s = first_render_seconds()
    meshes, cameras = make_frame()
    faces = sum(m.num_faces for m in meshes)
    arch = init_taichi()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        out = render(meshes, cameras)
        times.append(time.perf_counter() - start)
    render_s = statistics.median(times)

    build_s, cast_s, reference = open3d_depth(meshes, cameras)
    both = out.mask & np.isfinite(reference)
    depth_error_mm = float(np.abs(out.depth[both] - reference[both]).max() * 1000.0)
    coverage = float(out.mask.mean())

    lines = [
        f"scene: {len(meshes)} capsule people, {faces} faces, {len(cameras)} views x 512^2, "
        f"{coverage:.1%} of pixels covered; taichi arch {arch}, {os.cpu_count()} CPU threads",
        f"taichi init {init_s:.2f} s; first render (kernel compilation + render) {cold_s:.2f} s with an empty "
        f"kernel cache (TI_OFFLINE_CACHE=0), {first_s:.2f} s with Taichi's default offline kernel cache",
        f"render (all outputs), median of {args.repeats}: {render_s * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f} ms); goal <= 500 ms",
        f"open3d RaycastingScene depth only: BVH build {build_s * 1000:.0f} ms, cast {cast_s * 1000:.0f} ms; "
        f"taichi render / open3d cast = {render_s / cast_s:.2f}",
        f"max |depth - open3d depth| where both hit: {depth_error_mm:.3f} mm",
        f"1-minute load average at start / end: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        "(other jobs on the same 2 cores inflate the times)",
    ]
    for line in lines:
        logger.info(line)
    if not args.no_write:
        body = "\n".join(f"- {line}" for line in lines)
        write_section(
            SECTION,
            f"{SECTION}\n\n"
            "Command: `.venv/bin/python bench/bench_render.py`  \n"
            "Machine: 2-core CPU, no GPU. Date: 2026-11-21.\n\n"
            f"{body}\n\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
