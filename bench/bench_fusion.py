"""Temporal SDF fusion (issue 8) on synthetic motion with ground truth: accuracy, temporal stability, time.

Run: .venv/bin/python bench/bench_fusion.py [--frames 10] [--no-write]
Prints the figures and rewrites the section "## Temporal fusion" of docs/BENCHMARKS.md.

Scene: clothed synthetic people (synth.person, random outfits) moving with synth.motion at 30 fps. Per frame
and person:
- ground truth: the clothed mesh posed by its own skinning;
- "bodies": the true body parameters plus fitting noise, used by the fusion's warps: a pose offset shared by
  all frames (0.01 rad per joint) and independent per-frame jitter (pose 0.003 rad per joint, global rotation
  0.003 rad, translation 2 mm), as a temporally smoothed sequence fit gives;
- per-frame reconstructions, two kinds: (a) "perturbed GT": the GT's signed distance plus an independent
  smooth noise field (amplitude 8 mm, wavelength ~12 cm) re-meshed on a 1 cm grid; (b) "visual hull": the
  hard visual hull from 6 ring views (512 px), meshed by implicit.visual_hull on a 1 cm grid.
Figures: Chamfer and P2S (multihuman_eval.evaluate_surface, cm after scaling the GT to 1.80 m) before and
after fusion, and the temporal instability: the mean symmetric surface distance (cm, unscaled) between
frame t's surface warped to t + 1 with the *true* bodies and frame t + 1's surface, over consecutive
pairs. The same figure for the GT meshes is the floor that the warp itself leaves.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402
from body.anny_body import AnnyBody  # noqa: E402
from body.model import BodyModel  # noqa: E402
from body.params import BodyParams  # noqa: E402
from fusion import FusionConfig, PersonFrame, fuse_sequence, truncated_sdf, warp_mesh  # noqa: E402
from implicit.grid import VoxelGrid  # noqa: E402
from implicit.meshing import extract_mesh  # noqa: E402
from implicit.visual_hull import visual_hull_mesh  # noqa: E402
from multihuman_eval import SurfaceMetricsConfig, evaluate_surface  # noqa: E402
from multihuman_eval.surface import point_to_surface_distances  # noqa: E402
from calibration.ring_rig import ring_rig  # noqa: E402
from render import Mesh, render  # noqa: E402
from render.mesh import sample_surface  # noqa: E402
from synth.clothing import random_outfit, smooth_noise  # noqa: E402
from synth.motion import make_motion  # noqa: E402
from synth.person import build_person  # noqa: E402

SECTION = "## Temporal fusion"
DATE = "2026-11-21"
MACHINE = "2-core CPU, no GPU (shared with other jobs)"
VOXEL = 0.01
NOISE_AMPLITUDE, NOISE_WAVELENGTH = 0.008, 0.12
POSE_OFFSET, POSE_JITTER, ROT_JITTER, TRANSL_JITTER = 0.01, 0.003, 0.003, 0.002
STABILITY_SAMPLES = 10_000


@dataclass
class Sequence:
    """One person over T frames: GT meshes, true and noisy body outputs (lists of T)."""

    name: str
    gt: list[Mesh]
    true_bodies: list
    noisy_bodies: list


def noisy_params(params: BodyParams, seed: int) -> BodyParams:
    """Fitting noise on (T,) params: a pose offset shared by all frames plus independent per-frame jitter."""
    g = torch.Generator().manual_seed(seed)
    noise = lambda shape, s: s * torch.randn(shape, generator=g, dtype=params.pose_aa.dtype)  # noqa: E731
    pose = params.pose_aa + noise(params.pose_aa.shape[1:], POSE_OFFSET) + noise(params.pose_aa.shape, POSE_JITTER)
    return BodyParams(params.shape, pose, params.global_rot_aa + noise(params.global_rot_aa.shape, ROT_JITTER),
                      params.transl + noise(params.transl.shape, TRANSL_JITTER))  # fmt: skip


def make_sequences(body: BodyModel, category: str, people: int, frames: int, seed: int) -> list[Sequence]:
    motion = make_motion(body, category, people, frames, fps=30.0, seed=seed)
    rng = np.random.default_rng(seed)
    sequences = []
    for p, person_id in enumerate(motion.person_ids):
        params = motion.params.map(lambda t: t[p])  # (T,) batch; shape (1, S)
        clothed = build_person(body, params.shape[0].numpy(), random_outfit(rng))
        with torch.no_grad():
            true, noisy = body(params), body(noisy_params(params, seed * 100 + p))
        split = lambda out, t: type(out)(**{k: (v[t] if k not in ("faces", "keypoint_names", "skinning_weights") else v)  # noqa: E731
                                            for k, v in vars(out).items()})  # fmt: skip
        sequences.append(Sequence(
            f"{category}/person_{person_id}", [clothed.mesh(true.joint_transforms[t]) for t in range(frames)],
            [split(true, t) for t in range(frames)], [split(noisy, t) for t in range(frames)],
        ))  # fmt: skip
    return sequences


def perturbed_reconstruction(gt: Mesh, seed: int) -> Mesh:
    """GT signed distance + an independent smooth noise field, re-meshed on a 1 cm grid."""
    grid = VoxelGrid.for_points(gt.vertices, margin_m=0.05, voxel_size=VOXEL)
    sdf = truncated_sdf(gt, grid, truncation_m=3 * VOXEL)
    noise = NOISE_AMPLITUDE * smooth_noise(grid.points(), NOISE_WAVELENGTH, seed=seed, count=16)
    return extract_mesh(-(sdf + noise.reshape(grid.shape)), grid, threshold=0.0, largest_component=True)


def visual_hull_reconstruction(gt: Mesh, cameras) -> Mesh:
    masks = render(gt, cameras).mask
    grid = VoxelGrid.for_points(gt.vertices, margin_m=0.1, voxel_size=VOXEL)
    return visual_hull_mesh(cameras, masks, None, grid)


def surface_distance_cm(a: Mesh, b: Mesh, seed: int = 0) -> float:
    """Symmetric mean surface distance between two meshes, cm (unscaled)."""
    da = point_to_surface_distances(sample_surface(a, STABILITY_SAMPLES, seed), b)
    db = point_to_surface_distances(sample_surface(b, STABILITY_SAMPLES, seed + 1), a)
    return 50.0 * float(da.mean() + db.mean())


def instability_cm(body: BodyModel, meshes: list[Mesh], bodies: list) -> float:
    """Mean over t of the distance between mesh t warped to t + 1 (with `bodies`) and mesh t + 1."""
    values = [surface_distance_cm(warp_mesh(body, meshes[t], bodies[t], bodies[t + 1]), meshes[t + 1])
              for t in range(len(meshes) - 1)]  # fmt: skip
    return float(np.mean(values))


def chamfer_cm(meshes: list[Mesh], gts: list[Mesh]) -> tuple[float, float]:
    """Mean Chamfer and mean P2S (rec -> GT) over frames, cm after scaling to 1.80 m."""
    config = SurfaceMetricsConfig(samples_per_mesh=STABILITY_SAMPLES)
    metrics = [evaluate_surface(m, g, config) for m, g in zip(meshes, gts)]
    return float(np.mean([m.chamfer_cm for m in metrics])), float(np.mean([m.p2s_rec_to_gt_cm for m in metrics]))


def evaluate(body: BodyModel, sequence: Sequence, kind: str, recs: list[Mesh], config: FusionConfig) -> dict:
    frames = {t: PersonFrame(recs[t], sequence.noisy_bodies[t]) for t in range(len(recs))}
    fused = fuse_sequence(body, frames, config)
    fused_meshes = [fused[t].mesh for t in range(len(recs))]
    row = {"sequence": sequence.name, "kind": kind, "seconds": float(np.mean([f.seconds for f in fused.values()]))}
    row["chamfer_before"], row["p2s_before"] = chamfer_cm(recs, sequence.gt)
    row["chamfer_after"], row["p2s_after"] = chamfer_cm(fused_meshes, sequence.gt)
    row["instability_before"] = instability_cm(body, recs, sequence.true_bodies)
    row["instability_after"] = instability_cm(body, fused_meshes, sequence.true_bodies)
    row["instability_gt"] = instability_cm(body, sequence.gt, sequence.true_bodies)
    print(
        f"{row['sequence']:<22} {kind:<14} chamfer {row['chamfer_before']:.3f} -> {row['chamfer_after']:.3f} cm, "
        f"P2S {row['p2s_before']:.3f} -> {row['p2s_after']:.3f} cm, instability {row['instability_before']:.3f} -> "
        f"{row['instability_after']:.3f} cm (GT floor {row['instability_gt']:.3f}), {row['seconds']:.1f} s/person-frame",
        flush=True,
    )  # fmt: skip
    return row


def summary_rows(rows: list[dict]) -> list[str]:
    lines = [
        "| sequence | reconstruction | Chamfer before / after (cm) | P2S before / after (cm) | "
        "instability before / after (cm) | reduction | GT floor (cm) | s / person-frame |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        reduction = 100.0 * (1.0 - r["instability_after"] / r["instability_before"])
        lines.append(
            f"| {r['sequence']} | {r['kind']} | {r['chamfer_before']:.3f} / {r['chamfer_after']:.3f} | "
            f"{r['p2s_before']:.3f} / {r['p2s_after']:.3f} | {r['instability_before']:.3f} / "
            f"{r['instability_after']:.3f} | {reduction:.0f}% | {r['instability_gt']:.3f} | {r['seconds']:.1f} |"
        )
    for kind in sorted({r["kind"] for r in rows}):
        sel = [r for r in rows if r["kind"] == kind]
        mean = lambda key: float(np.mean([r[key] for r in sel]))  # noqa: E731
        lines.append(
            f"| **mean** | {kind} | {mean('chamfer_before'):.3f} / {mean('chamfer_after'):.3f} "
            f"({100 * (mean('chamfer_after') / mean('chamfer_before') - 1):+.1f}%) | "
            f"{mean('p2s_before'):.3f} / {mean('p2s_after'):.3f} | {mean('instability_before'):.3f} / "
            f"{mean('instability_after'):.3f} | {100 * (1 - mean('instability_after') / mean('instability_before')):.0f}% "
            f"| {mean('instability_gt'):.3f} | {mean('seconds'):.1f} |"
        )
    return lines



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5, help="frames per sequence (default 5)")
    parser.add_argument("--kinds", nargs="+", default=["perturbed", "visual_hull"], choices=["perturbed", "visual_hull"])
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch docs/BENCHMARKS.md")
    args = parser.parse_args()
    body = AnnyBody()
    config = FusionConfig()
    cameras = list(ring_rig(6, radius=3.5, height=1.5, image_size=(512, 512), fov_deg=50.0).cameras)
    sequences = make_sequences(body, "single", 1, args.frames, seed=1) + make_sequences(
        body, "natural", 2, args.frames, seed=2
    )
    rows = []
    start = time.perf_counter()
    for s_index, sequence in enumerate(sequences):
        for kind in args.kinds:
            if kind == "perturbed":
                recs = [perturbed_reconstruction(g, seed=1000 * s_index + t) for t, g in enumerate(sequence.gt)]
            else:
                recs = [visual_hull_reconstruction(g, cameras) for g in sequence.gt]
            rows.append(evaluate(body, sequence, kind, recs, config))
    lines = [
        f"Command: `.venv/bin/python bench/bench_fusion.py --frames {args.frames}`; machine: {MACHINE}; date: {DATE}; "
        f"total {time.perf_counter() - start:.0f} s.",
        "",
        f"Clothed synthetic people (synth.person, random outfits) in synth.motion sequences at 30 fps ({args.frames} "
        "frames each: one `single` person, two `natural` people). Bodies used by the warps: the true parameters "
        f"plus a pose offset shared by all frames ({POSE_OFFSET} rad per joint) and independent per-frame jitter "
        f"(pose {POSE_JITTER} rad per joint, global rotation {ROT_JITTER} rad, translation "
        f"{1000 * TRANSL_JITTER:.0f} mm). Per-frame reconstructions: *perturbed*: the GT's signed "
        f"distance plus an independent smooth noise field (amplitude {1000 * NOISE_AMPLITUDE:.0f} mm, wavelength "
        f"~{100 * NOISE_WAVELENGTH:.0f} cm) re-meshed on a 1 cm grid; *visual_hull*: the hard visual hull of 6 ring "
        "views (512 px) on a 1 cm grid. Fusion: `FusionConfig()` (window 3, 1 cm voxels, truncation 3 voxels, "
        "5 sign rays).",
        "",
        "Chamfer / P2S: `multihuman_eval.evaluate_surface` (cm, GT scaled to 1.80 m), mean over frames. "
        "Instability: mean symmetric surface distance (cm, unscaled) between frame t's surface warped to t + 1 with "
        "the true bodies and frame t + 1's surface, mean over consecutive pairs; the GT floor is the same figure "
        "for the GT meshes (what the warp itself cannot follow, e.g. clothing skinned differently).",
        "",
        *summary_rows(rows),
        "",
        "Sensitivity to the bodies: an earlier run of this script with independent per-frame body noise of 0.03 rad "
        "per joint, 0.01 rad global rotation and 5 mm translation (about 5 cm mean vertex error, frame to frame) "
        "made fusion worse on the single person's perturbed reconstructions (Chamfer 0.429 -> 0.905 cm, instability "
        "0.612 -> 1.514 cm): the warp needs bodies whose frame-to-frame error is below the reconstruction's noise. "
        "On 3 frames of the same person, fusing frame 1 with the true bodies gave Chamfer 0.443 -> 0.265 cm, with "
        "the noisy bodies above 0.443 -> 0.341 cm.",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section(SECTION, "\n".join([SECTION, "", *lines]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
