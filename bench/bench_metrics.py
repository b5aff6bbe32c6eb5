"""Speed of the surface metrics on a pair of ~300k-triangle meshes, against trimesh's closest_point.

Run: .venv/bin/python bench/bench_metrics.py [--repeats 5] [--no-write]
Prints the figures and rewrites the section "## Evaluation metrics" of docs/BENCHMARKS.md.
Target (issue 9): the whole metric computation (scaling, sampling, both distance directions) under 2 s on CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import trimesh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import BENCHMARKS, write_section  # noqa: E402
from multihuman_eval import SurfaceMetricsConfig, evaluate_surface, normalize_scale  # noqa: E402
from multihuman_eval.surface import point_to_surface_distances  # noqa: E402
from render import Mesh  # noqa: E402
from render.mesh import sample_surface  # noqa: E402

SECTION = "## Evaluation metrics"
DATE = "2026-11-21"
BRUTE_FORCE_POINTS = 10
MACHINE = "2-core CPU, no GPU"


def person_like_mesh(subdivisions: int, bump_m: float, phase: float) -> Mesh:
    """A 1.8 m tall ellipsoid with smooth bumps (20 * 4**subdivisions triangles), standing on z = 0."""
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    unit = sphere.vertices
    bumps = bump_m * np.sin(7.0 * unit[:, 0] + phase) * np.sin(5.0 * unit[:, 1]) * np.cos(9.0 * unit[:, 2])
    radii = np.array([0.25, 0.15, 0.9])
    vertices = unit * (radii + bumps[:, None]) + np.array([0.0, 0.0, 0.9])
    return Mesh(vertices, sphere.faces)


def brute_force_distance(mesh: trimesh.Trimesh, point: np.ndarray) -> float:
    """Distance from one (3,) point to the closest of all triangles, float64, no acceleration structure."""
    closest = trimesh.triangles.closest_point(mesh.triangles, np.broadcast_to(point, (len(mesh.faces), 3)))
    return float(np.linalg.norm(closest - point, axis=1).min())


def median_seconds(function, repeats: int) -> tuple[float, object]:
    """(median wall time over `repeats` calls, the last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(repeats: int) -> dict[str, float]:
    config = SurfaceMetricsConfig()
    gt = person_like_mesh(subdivisions=7, bump_m=0.02, phase=0.0)
    rec = person_like_mesh(subdivisions=7, bump_m=0.015, phase=0.4)
    figures: dict[str, float] = {"faces_gt": len(gt.faces), "faces_rec": len(rec.faces)}

    figures["total_s"], metrics = median_seconds(lambda: evaluate_surface(rec, gt, config), repeats)
    rec_s, gt_s, _ = normalize_scale(rec, gt, config.target_height_m, config.up)
    figures["scale_s"], _ = median_seconds(
        lambda: normalize_scale(rec, gt, config.target_height_m, config.up), repeats
    )
    figures["sampling_s"], (rec_points, gt_points) = median_seconds(
        lambda: (
            sample_surface(rec_s, config.samples_per_mesh, config.seed),
            sample_surface(gt_s, config.samples_per_mesh, config.seed + 1),
        ),
        repeats,
    )
    figures["distance_s"], (to_gt, to_rec) = median_seconds(
        lambda: (point_to_surface_distances(rec_points, gt_s), point_to_surface_distances(gt_points, rec_s)),
        repeats,
    )

    # Baseline: trimesh's exact closest point (rtree of triangles) on the same points, once.
    gt_tri = trimesh.Trimesh(gt_s.vertices, gt_s.faces, process=False)
    rec_tri = trimesh.Trimesh(rec_s.vertices, rec_s.faces, process=False)
    figures["trimesh_distance_s"], (ref_to_gt, ref_to_rec) = median_seconds(
        lambda: (
            trimesh.proximity.closest_point(gt_tri, rec_points)[1],
            trimesh.proximity.closest_point(rec_tri, gt_points)[1],
        ),
        1,
    )
    figures["max_abs_diff_cm"] = 100.0 * float(
        max(np.abs(to_gt - ref_to_gt).max(), np.abs(to_rec - ref_to_rec).max())
    )
    # Who is right where they disagree most: brute force in float64 over every triangle of the GT.
    worst = np.argsort(np.abs(to_gt - ref_to_gt))[-BRUTE_FORCE_POINTS:]
    exact = np.array([brute_force_distance(gt_tri, point) for point in rec_points[worst]])
    figures["brute_points"] = BRUTE_FORCE_POINTS
    figures["open3d_error_cm"] = 100.0 * float(np.abs(to_gt[worst] - exact).max())
    figures["trimesh_error_cm"] = 100.0 * float(np.abs(ref_to_gt[worst] - exact).max())
    figures["speedup"] = figures["trimesh_distance_s"] / figures["distance_s"]
    figures["chamfer_cm"] = metrics.chamfer_cm
    figures["p2s_rec_to_gt_cm"] = metrics.p2s_rec_to_gt_cm
    figures["p2s_gt_to_rec_cm"] = metrics.p2s_gt_to_rec_cm
    figures["samples"] = config.samples_per_mesh
    figures["repeats"] = repeats
    return figures


def section_text(f: dict[str, float]) -> str:
    return f"""{SECTION}

Command: `.venv/bin/python bench/bench_metrics.py` ({MACHINE}, {DATE}; Python {platform.python_version()},
{os.cpu_count()} logical CPUs seen; median of {f['repeats']:.0f} runs, trimesh baseline run once).
Pair of person-like meshes, {f['faces_rec']:,.0f} and {f['faces_gt']:,.0f} triangles, 1.8 m tall;
{f['samples']:,.0f} samples per mesh; exact point-to-triangle distances (Open3D RaycastingScene).

| step | seconds |
| --- | ---: |
| `evaluate_surface` total (scale + sample + both directions) | {f['total_s']:.3f} |
| scaling to 1.80 m (`normalize_scale`) | {f['scale_s']:.3f} |
| sampling, both meshes (`sample_surface`) | {f['sampling_s']:.3f} |
| distance queries, both directions, BVH build included (`point_to_surface_distances`) | {f['distance_s']:.3f} |
| baseline: `trimesh.proximity.closest_point`, same points, both directions | {f['trimesh_distance_s']:.3f} |

Target under 2 s: {'met' if f['total_s'] < 2.0 else 'NOT met'} ({f['total_s']:.2f} s).
Distance queries are {f['speedup']:.1f}x faster than the trimesh baseline. The two differ by at most
{f['max_abs_diff_cm']:.1e} cm; on the {f['brute_points']:.0f} points where they differ most, a float64 brute force over
all triangles is {f['open3d_error_cm']:.1e} cm from Open3D and {f['trimesh_error_cm']:.1e} cm from trimesh (which
sometimes returns a triangle that is not the closest). Metrics of this pair: Chamfer
{f['chamfer_cm']:.3f} cm, P2S rec->GT {f['p2s_rec_to_gt_cm']:.3f} cm, GT->rec {f['p2s_gt_to_rec_cm']:.3f} cm.
"""



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per step (median reported)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    text = section_text(run(args.repeats))
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
        print(f"updated {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
