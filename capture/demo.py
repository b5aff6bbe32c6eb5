"""The built-in demo: what `make demo` runs.

Until the reconstruction pipeline exists, it exercises the most complete piece that works end to end: a synthetic
6-camera ring rig with lens distortion is written as rig.yaml, read back and checked (top-view PNG), points moving like
three people are projected into every view, detector-like noise and one badly wrong view are added, and the points are
triangulated back with plain and robust DLT.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from calibration.atomic import atomic_write_text, write_png
from calibration.geometry import CameraTensors, triangulate_dlt, triangulate_robust
from calibration.rig_file import load_rig, save_rig
from calibration.rig_summary import draw_top_view, format_rig_report, summarize_rig
from calibration.ring_rig import ring_rig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the triangulation demo."""

    views: int = 6
    """number of cameras on the ring"""
    people: int = 3
    """number of simulated people (17 points each)"""
    frames: int = 30
    """number of frames (30 fps)"""
    noise_px: float = 2.0
    """standard deviation of the detection noise, pixels"""
    corrupted_view: int = 2
    """index of the view whose detections are wrong by 40-120 px (a bad detector or a mislabelled person)"""
    seed: int = 0
    """random seed"""


@dataclass(frozen=True)
class DemoResult:
    """Triangulation errors against the true 3D points, millimetres."""

    points: int
    dlt_mean_mm: float
    dlt_median_mm: float
    robust_mean_mm: float
    robust_median_mm: float
    robust_outlier_recall: float
    """fraction of the corrupted view's observations that the robust triangulation rejected"""


def simulate_points(config: DemoConfig, rng: np.random.Generator) -> np.ndarray:
    """(T, P * 17, 3) points, metres: per person 17 points in a 0.5 x 0.3 x 1.8 m box walking slowly on the floor."""
    offsets = rng.uniform([-0.25, -0.15, 0.05], [0.25, 0.15, 1.8], size=(config.people, 17, 3))
    start = rng.uniform(-1.0, 1.0, size=(config.people, 1, 3)) * [1.0, 1.0, 0.0]
    velocity = rng.normal(size=(config.people, 1, 3)) * [0.5, 0.5, 0.0]  # m/s
    times = np.arange(config.frames)[:, None, None, None] / 30.0
    return (start + offsets + velocity * times).reshape(config.frames, -1, 3)


def run_demo(out_dir: Path, config: DemoConfig = DemoConfig()) -> DemoResult:
    """Write out_dir/rig.yaml, rig_top.png and triangulation.json; return the errors."""
    rng = np.random.default_rng(config.seed)
    rig = ring_rig(config.views, distortion=(-0.08, 0.02, 0.0, 0.0, 0.0), jitter=0.5, seed=config.seed)
    rig_path = save_rig(rig, out_dir / "rig.yaml", header="synthetic 6-camera ring rig of the demo")
    rig = load_rig(rig_path, check_paths=False)
    summary = summarize_rig(rig)
    print(format_rig_report(rig, summary))
    write_png(out_dir / "rig_top.png", draw_top_view(rig, summary))

    truth = simulate_points(config, rng)  # (T, N, 3)
    frames, count = truth.shape[:2]
    cameras = CameraTensors.from_cameras(rig.cameras)
    points = torch.from_numpy(truth.reshape(-1, 3))  # fold time into J
    pixels = cameras.project(points)  # (V, J, 2)
    pixels = pixels + config.noise_px * torch.from_numpy(rng.normal(size=tuple(pixels.shape)))
    corruption = rng.uniform(40.0, 120.0, size=pixels.shape[1]) * rng.choice([-1.0, 1.0], size=pixels.shape[1])
    pixels[config.corrupted_view, :, 0] += torch.from_numpy(corruption)
    sizes = torch.tensor([[camera.width, camera.height] for camera in rig], dtype=pixels.dtype)
    inside = ((pixels >= 0) & (pixels <= sizes[:, None] - 1)).all(-1)
    weights = inside.to(pixels.dtype)  # a detector sees only what is inside the image

    dlt = triangulate_dlt(pixels, cameras, weights)
    robust = triangulate_robust(pixels, cameras, weights, threshold_px=15.0)
    dlt_error = torch.linalg.vector_norm(dlt - points, dim=-1).numpy() * 1000.0
    robust_error = torch.linalg.vector_norm(robust.points - points, dim=-1).numpy() * 1000.0
    corrupted_seen = inside[config.corrupted_view]
    rejected = (~robust.inliers[config.corrupted_view] & corrupted_seen).sum().item()
    result = DemoResult(
        points=frames * count,
        dlt_mean_mm=float(np.nanmean(dlt_error)),
        dlt_median_mm=float(np.nanmedian(dlt_error)),
        robust_mean_mm=float(np.nanmean(robust_error)),
        robust_median_mm=float(np.nanmedian(robust_error)),
        robust_outlier_recall=rejected / max(int(corrupted_seen.sum()), 1),
    )
    report = {"config": asdict(config), "result": asdict(result), "rig": str(rig_path)}
    atomic_write_text(out_dir / "triangulation.json", json.dumps(report, indent=2))
    return result
