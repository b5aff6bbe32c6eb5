"""Triangulation speed and accuracy: calibration.geometry (batched torch) against a per-point numpy/OpenCV loop.

Scene: a ring rig (tests/calibration/conftest.py) of V cameras with distortion, J points in a person-sized box
(3 people x 25 joints x 100 frames = 7,500 points), 2 px Gaussian noise, and in the "corrupted" case every point
of one camera shifted by (80, 80) px. Run: .venv/bin/python bench/bench_triangulation.py
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import BENCHMARKS, write_section  # noqa: E402
from calibration.geometry import CameraTensors, triangulate_dlt, triangulate_robust  # noqa: E402
from tests.calibration.conftest import ring_rig, scene_points  # noqa: E402

HEADING = "## Calibration: triangulation"
log = logging.getLogger("bench_triangulation")


def loop_dlt(cameras, pixels: np.ndarray) -> np.ndarray:
    """Baseline: cv2.undistortPoints per view, then one numpy SVD per point (as a straightforward port would)."""
    V, J, _ = pixels.shape
    xy = np.stack([cv2.undistortPoints(pixels[v].reshape(-1, 1, 2), c.K, c.dist).reshape(-1, 2)
                   for v, c in enumerate(cameras)])
    points = np.empty((J, 3))
    for j in range(J):
        rows = []
        for v, c in enumerate(cameras):
            P = c.extrinsics
            rows += [xy[v, j, 0] * P[2] - P[0], xy[v, j, 1] * P[2] - P[1]]
        h = np.linalg.svd(np.asarray(rows))[2][-1]
        points[j] = h[:3] / h[3]
    return points


def best_time(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)



def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)  # the machine's 2 cores are shared; one thread compares fairly with the numpy loop
    n_points, n_views = 7500, 6
    cameras = ring_rig(n_views, seed=0)
    cams = CameraTensors.from_cameras(cameras)
    truth = torch.as_tensor(scene_points(n_points, seed=0))
    generator = torch.Generator().manual_seed(0)
    noisy = cams.project(truth) + 2.0 * torch.randn(n_views, n_points, 2, generator=generator, dtype=torch.float64)
    corrupted = noisy.clone()
    corrupted[0] += 80.0

    def mean_error_mm(points) -> float:
        return 1000.0 * float((torch.as_tensor(points) - truth).norm(dim=-1).mean())

    rows = []
    for name, pixels in (("2 px noise", noisy), ("2 px noise + one view +80 px", corrupted)):
        timings = {
            "numpy/cv2 loop DLT": best_time(lambda: loop_dlt(cameras, pixels.numpy()), repeats=1),
            "triangulate_dlt": best_time(lambda: triangulate_dlt(pixels, cams)),
            "triangulate_robust": best_time(lambda: triangulate_robust(pixels, cams, threshold_px=10.0)),
        }
        if pixels is corrupted:
            oracle = torch.ones(n_views, n_points, dtype=torch.float64).index_fill_(0, torch.tensor([0]), 0.0)
            timings["triangulate_dlt, bad view known (oracle)"] = best_time(
                lambda: triangulate_dlt(pixels, cams, oracle)
            )
        errors = {
            "numpy/cv2 loop DLT": mean_error_mm(loop_dlt(cameras, pixels.numpy())),
            "triangulate_dlt": mean_error_mm(triangulate_dlt(pixels, cams)),
            "triangulate_robust": mean_error_mm(triangulate_robust(pixels, cams, threshold_px=10.0).points),
        }
        if pixels is corrupted:
            errors["triangulate_dlt, bad view known (oracle)"] = mean_error_mm(triangulate_dlt(pixels, cams, oracle))
        for method in timings:
            rows.append(f"| {name} | {method} | {1000 * timings[method]:.1f} | {errors[method]:.2f} |")
            log.info("%-30s %-42s %8.1f ms %8.2f mm", name, method, 1000 * timings[method], errors[method])

    write_section(HEADING, "\n".join([
        HEADING,
        "",
        "Command: `.venv/bin/python bench/bench_triangulation.py` (2-core CPU, no GPU, 2026-11-21; "
        f"torch {torch.__version__}, 1 thread, float64;",
        "best of 5 runs, the loop run once; other jobs shared the CPU, so times are upper bounds).",
        f"{n_points} points (3 people x 25 joints x 100 frames), ring of {n_views} cameras with distortion "
        "(`ring_rig` in tests/calibration/conftest.py).",
        "Error: mean 3D distance to the truth. Baseline: cv2.undistortPoints per view, then one numpy SVD per point.",
        "",
        "| pixels | method | time (ms) | mean error (mm) |",
        "| --- | --- | ---: | ---: |",
        *rows,
    ]))
    log.info("wrote %s", BENCHMARKS)


if __name__ == "__main__":
    main()
