"""Segmentation benchmark: person IoU per person per view on synthetic scenes (Anny bodies "clothed" 1-3 cm +
hair, textured background, 6 ring cameras), natural and close-interaction; time per frame (6 views).

Rows: ground-truth foreground split with the ground-truth bodies (the method), the same with a nearest-body
baseline (image distance only, no depth order, no geodesic growth), the bare body projections, GrabCut from
the images (no masks), and the ground-truth foreground split with bodies fitted by the body stage from the
simulated 2D detector (association, tracking, sequence fit).

    .venv/bin/python bench/bench_segmentation.py [--scenes 4] [--size 512] [--frames 5] [--no-write]

Writes the `## Segmentation` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402
from body.params import BodyParams  # noqa: E402
from calibration.ring_rig import ring_rig  # noqa: E402
from render import Mesh  # noqa: E402
from segmentation.frame import FrameInputs, segment_frame  # noqa: E402
from segmentation.metrics import mask_iou, person_iou  # noqa: E402
from segmentation.projection import argmin_people, body_fields, focal_px, render_person_depths  # noqa: E402
from synth.segmentation_scenes import scene_from_params  # noqa: E402

SECTION = "## Segmentation"
NOTE = (
    "Notes: the min column is the worst single person-view; in close scenes that is a view where one person is "
    "almost entirely hidden behind the other (few pixels, so a few wrong pixels weigh a lot). The GrabCut rows use "
    "a colourful random texture as background, unlike the striped clothes: real backgrounds that resemble the "
    "clothing will score lower. Fitted bodies: `synth.body_capture.simulate_capture` (simulated detector: jitter, "
    "misses, outliers, swaps, false detections) -> association -> tracking -> sequence fit over 5 frames, "
    "evaluated on the middle frame; tracks are matched to ground-truth people by vertex distance."
)
logger = logging.getLogger("bench_segmentation")


def sequence(body, category: str, num_frames: int, seed: int) -> tuple[BodyParams, str]:
    """Params (P=2, T) of a `synth.motion` motion and how they were made."""
    from synth.motion import make_motion

    return make_motion(body, category, 2, num_frames, seed=seed).params, f"synth.motion {category!r}"


def frame_params(params: BodyParams, frame: int) -> BodyParams:
    """Batch (P,) parameters of one frame of (P, T) parameters (shape (P, 1, S))."""
    return BodyParams(params.shape[:, 0], params.pose_aa[:, frame], params.global_rot_aa[:, frame], params.transl[:, frame])


def fitted_bodies(body, params: BodyParams, rig, frame: int, truth: list[Mesh]) -> tuple[list[Mesh], list[int], list[int]]:
    """Bodies fitted by the body stage from simulated detections over all T frames, at `frame`.

    Returns (meshes, track ids, ground-truth person of each track, by nearest mean vertex distance).
    """
    from synth.body_capture import simulate_capture
    from body.association import AssociationConfig, Associator
    from body.sequence_fit import fit_tracks
    from body.tracking import track_people

    capture = simulate_capture(body, params, np.ones(params.batch_shape, bool), rig, seed=frame)
    associator = Associator(list(rig), capture.layout, AssociationConfig())
    frames = [d.frame for d in capture.detections]
    tracks = track_people(frames, [associator(d) for d in capture.detections])
    meshes, ids, owners = [], [], []
    for fit in fit_tracks(body, tracks, frames, list(rig), capture.layout):
        if frame not in fit.frames:
            continue
        t = fit.frames.index(frame)
        one = BodyParams(fit.params.shape[0], fit.params.pose_aa[t], fit.params.global_rot_aa[t], fit.params.transl[t])
        with torch.no_grad():
            vertices = body(one).vertices.double().numpy()
        meshes.append(Mesh(vertices, body.faces.numpy()))
        ids.append(fit.track_id)
        owners.append(int(np.argmin([np.linalg.norm(m.vertices - vertices, axis=1).mean() for m in truth])))
    return meshes, ids, owners


def nearest_body_baseline(scene) -> np.ndarray:
    """(V, H, W) index maps: each ground-truth foreground pixel to the body nearest in the image (no depth)."""
    depths = render_person_depths(scene.bodies, scene.cameras)
    maps = []
    for v, camera in enumerate(scene.cameras):
        fields = body_fields(depths[:, v], focal_px(camera))
        pixels = fields.distance * focal_px(camera) / fields.near_depth  # back to pixels
        pixels = np.where(np.isfinite(pixels), pixels, np.inf)
        maps.append(np.where(scene.gt_index[v] >= 0, argmin_people(pixels), -1))
    return np.stack(maps)


def body_projection(scene) -> np.ndarray:
    """(V, H, W) z-buffered bare body projections as the segmentation."""
    depths = render_person_depths(scene.bodies, scene.cameras)
    return np.stack([body_fields(depths[:, v], focal_px(c)).visible() for v, c in enumerate(scene.cameras)])


def evaluate(body, category: str, seed: int, cameras, rig, num_frames: int, fitted: bool) -> dict:
    params, how = sequence(body, category, num_frames, seed)
    frame = num_frames // 2
    scene = scene_from_params(body, frame_params(params, frame), [0, 1], cameras, seed)
    masks = list((scene.gt_index >= 0).astype(np.uint8))
    row: dict = {"how": how}
    start = time.perf_counter()
    result = segment_frame(cameras, scene.bodies, scene.person_ids, "masks", FrameInputs(masks=masks))
    row["seconds_masks"] = time.perf_counter() - start
    row["iou"] = person_iou(np.stack(result.index), scene.gt_index, 2)
    row["occlusion_iou"] = mask_iou(np.stack(result.occluded, axis=1), scene.gt_occluded)
    row["baseline_iou"] = person_iou(nearest_body_baseline(scene), scene.gt_index, 2)
    row["projection_iou"] = person_iou(body_projection(scene), scene.gt_index, 2)
    start = time.perf_counter()
    grabcut = segment_frame(cameras, scene.bodies, scene.person_ids, "grabcut", FrameInputs(images=list(scene.images)))
    row["seconds_grabcut"] = time.perf_counter() - start
    row["grabcut_iou"] = person_iou(np.stack(grabcut.index), scene.gt_index, 2)
    row["grabcut_fg_iou"] = mask_iou(np.stack(grabcut.foreground), scene.gt_index >= 0)
    if fitted:
        start = time.perf_counter()
        meshes, ids, owners = fitted_bodies(body, params, rig, frame, scene.bodies)
        row["seconds_fit"] = time.perf_counter() - start
        if sorted(owners) == [0, 1]:
            fit_result = segment_frame(cameras, meshes, ids, "masks", FrameInputs(masks=masks))
            remap = np.full(3, -1)
            remap[: len(owners)] = owners  # track order -> ground-truth person
            index = np.stack(fit_result.index)
            row["fitted_iou"] = person_iou(np.where(index >= 0, remap[index], -1), scene.gt_index, 2)
        else:
            row["fitted_iou"] = np.full((2, len(cameras)), np.nan)
            logger.warning("%s seed %d: fitted tracks %s do not cover both people", category, seed, owners)
    return row


def _mean(rows: list[dict], key: str) -> tuple[float, float]:
    values = np.concatenate([r[key].ravel() for r in rows])
    return float(np.nanmean(values)), float(np.nanmin(values))



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=4, help="scenes (seeds) per category")
    parser.add_argument("--size", type=int, default=512, help="image side, pixels")
    parser.add_argument("--frames", type=int, default=5, help="frames per sequence (the body fit needs a few)")
    parser.add_argument("--no-fit", action="store_true", help="skip the fitted-body rows (body stage)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not edit docs/BENCHMARKS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from body.anny_body import AnnyBody

    body = AnnyBody()
    rig = ring_rig(6, radius=4.5, image_size=(args.size, args.size), fov_deg=45.0)
    cameras = list(rig.cameras)
    results = {}
    for category in ("natural", "close"):
        rows = []
        for seed in range(args.scenes):
            rows.append(evaluate(body, category, seed, cameras, rig, args.frames, not args.no_fit))
            logger.info("%s seed %d: IoU %.4f (GT bodies), %s", category, seed, np.nanmean(rows[-1]["iou"]),
                        {k: round(float(np.nanmean(v)), 4) for k, v in rows[-1].items() if k.endswith("iou") and k != "iou"})
        results[category] = rows

    lines = [
        "| scenes | rows | mean person IoU | min person IoU |",
        "| --- | --- | --- | --- |",
    ]
    labels = [("iou", "GT foreground, GT bodies (method)"), ("baseline_iou", "GT foreground, nearest body in the image (baseline)"),
              ("projection_iou", "bare body projections (no foreground)"), ("grabcut_iou", "GrabCut from images, GT bodies")]  # fmt: skip
    if not args.no_fit:
        labels.append(("fitted_iou", "GT foreground, bodies fitted from the simulated detector"))
    for category, rows in results.items():
        for key, label in labels:
            mean, low = _mean(rows, key)
            lines.append(f"| {category} | {label} | {mean:.4f} | {low:.3f} |")
    notes = []
    for category, rows in results.items():
        notes.append(
            f"- {category} ({rows[0]['how']}): occlusion-mask IoU {np.mean([r['occlusion_iou'] for r in rows]):.3f}, "
            f"GrabCut foreground IoU {np.mean([r['grabcut_fg_iou'] for r in rows]):.3f}; time per frame (6 views, "
            f"{args.size} px): {np.mean([r['seconds_masks'] for r in rows]):.2f} s with given masks, "
            f"{np.mean([r['seconds_grabcut'] for r in rows]):.2f} s with GrabCut"
            + (f"; body stage ({args.frames} frames) {np.mean([r['seconds_fit'] for r in rows]):.0f} s" if not args.no_fit else "")
        )
    body_text = "\n".join(lines) + "\n\n" + "\n".join(notes)
    print(body_text)
    if not args.no_write:
        write_section(
            SECTION,
            f"{SECTION}\n\n"
            f"Command: `.venv/bin/python bench/bench_segmentation.py --scenes {args.scenes} --size {args.size}`  \n"
            "Machine: 2-core CPU, no GPU. Date: 2026-11-21.\n\n"
            f"{args.scenes} scenes per category, 2 people, 6 ring cameras (4.5 m, 45 deg) of {args.size}x{args.size}; "
            "ground truth = Anny bodies inflated 1-3 cm along the normals plus a hair sphere, over a textured "
            "background (synth/segmentation_scenes.py); person IoU per person per view, averaged over people, views "
            "and scenes.\n\n"
            f"{body_text}\n\n"
            f"{NOTE}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
