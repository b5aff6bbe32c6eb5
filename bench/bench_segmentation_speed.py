"""Segmentation without masks on HD captures: everything at full resolution (baseline) vs GrabCut on the searched
region scaled down and refined by a guided filter vs the whole frame segmented at a working resolution of 960 px
and brought back by the guided filter (the default), in the same run on the same scenes.

Scenes: `synth.segmentation_scenes.make_scene` (Anny bodies inflated 1-3 cm plus hair, over a textured background),
3 people, 5 ring cameras of 1920x1080 (radius 4.5 m, 60 deg), categories natural and close, the bodies being the
true ones (oracle bodies: this measures the foreground and split, not the body fit). Wall and CPU seconds per
frame of `segment_frame` (5 views: body depth maps, foreground, split into people); wall seconds depend on what
else runs on the machine, CPU seconds (process time, all threads) much less.

    .venv/bin/python bench/bench_segmentation_speed.py [--scenes 2] [--no-write]

Writes the `## Segmentation speed, HD` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402
from calibration.ring_rig import ring_rig  # noqa: E402
from segmentation.foreground import ForegroundConfig  # noqa: E402
from segmentation.frame import FrameInputs, SegmentConfig, segment_frame  # noqa: E402
from segmentation.metrics import mask_iou, person_iou  # noqa: E402
from synth.segmentation_scenes import make_scene  # noqa: E402

SECTION = "## Segmentation speed, HD"
FULL = 1 << 16
VARIANTS = {
    "all at full resolution, GrabCut at full resolution (baseline)": SegmentConfig(
        working_max_side=FULL, foreground=ForegroundConfig(grabcut_max_side=FULL)
    ),
    "all at full resolution, GrabCut scaled to 360 px + guided filter": SegmentConfig(working_max_side=FULL),
    "working resolution 960 px, GrabCut scaled to 360 px, guided filter back (default)": SegmentConfig(),
}
logger = logging.getLogger("bench_segmentation_speed")


def measure(scene, config: SegmentConfig) -> dict:
    """Seconds (wall, CPU) of one frame's segment_frame and its IoUs against the scene's ground truth."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = segment_frame(scene.cameras, scene.bodies, scene.person_ids, "grabcut", FrameInputs(images=list(scene.images)),
                           config)  # fmt: skip
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    people = len(scene.person_ids)
    return {
        "wall": wall,
        "cpu": cpu,
        "fg_iou": float(np.mean([mask_iou(result.foreground[v], scene.gt_index[v] >= 0) for v in range(len(scene.cameras))])),
        "person_iou": float(np.nanmean(person_iou(result.index, scene.gt_index, people))),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=2, help="scenes (seeds) per category")
    parser.add_argument("--no-write", action="store_true", help="print only, do not edit docs/BENCHMARKS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from body.anny_body import AnnyBody

    body = AnnyBody()
    cameras = list(ring_rig(5, radius=4.5, height=1.6, image_size=(1920, 1080), fov_deg=60.0).cameras)
    rows: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for category in ("natural", "close"):
        for seed in range(args.scenes):
            scene = make_scene(body, category, cameras, 3, seed=seed)
            segment_frame(scene.cameras, scene.bodies, scene.person_ids, "masks",
                          FrameInputs(masks=list((scene.gt_index >= 0).astype(np.uint8))))  # fmt: skip  # warm-up
            for name, config in VARIANTS.items():
                rows[name].append(measure(scene, config) | {"category": category})
                logger.info("%s seed %d, %s: %s", category, seed, name, rows[name][-1])
    lines = ["| foreground source | wall s / frame | CPU s / frame | foreground IoU | person IoU |", "| --- | --- | --- | --- | --- |"]
    for name, values in rows.items():
        mean = {key: np.mean([row[key] for row in values]) for key in ("wall", "cpu", "fg_iou", "person_iou")}
        lines.append(f"| {name} | {mean['wall']:.2f} | {mean['cpu']:.2f} | {mean['fg_iou']:.4f} | {mean['person_iou']:.4f} |")
    baseline, *_, default = (np.mean([row["wall"] for row in values]) for values in rows.values())
    table = "\n".join(lines) + f"\n\nSpeed-up of the default over the baseline (wall, same run): {baseline / default:.1f}x."
    print(table)
    if not args.no_write:
        write_section(SECTION, f"{SECTION}\n\nCommand: `.venv/bin/python bench/bench_segmentation_speed.py --scenes "
                      f"{args.scenes}`  \nMachine: 2-core CPU, no GPU. Date: {datetime.date.today()}.\n\n"
                      f"{__doc__.split(chr(10) + chr(10))[1]}\n\n{table}\n", after="## Segmentation")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
