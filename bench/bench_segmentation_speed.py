"""Segmentation without masks on HD captures: the default against everything at full resolution and against the
previous default settings, and (`--previous REV`) against the segmentation package of git revision REV run on
the same scenes in the same run (a subprocess importing that revision's package, extracted with `git archive`).

Scenes: `synth.segmentation_scenes.make_scene` (Anny bodies inflated 1-3 cm plus hair, over a textured background),
3 people, 5 ring cameras of 1920x1080 (radius 4.5 m, 60 deg), categories natural and close, the bodies being the
true ones (oracle bodies: this measures the foreground and split, not the body fit). Wall and CPU seconds per
frame of `segment_frame` (5 views: body depth maps, foreground, split into people); wall seconds depend on what
else runs on the machine, CPU seconds (process time, all threads) much less. Foreground IoU per view and person
IoU per person and view, averaged.

    .venv/bin/python bench/bench_segmentation_speed.py [--scenes 2] [--previous REV] [--no-write]

Writes the `## Segmentation speed, HD` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import logging
import pickle
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402

SECTION = "## Segmentation speed, HD"
FULL = 1 << 16
KEYS = ("wall", "cpu", "fg_iou", "person_iou")
logger = logging.getLogger("bench_segmentation_speed")


def variants() -> dict:
    """Name -> SegmentConfig of the variants measured in this process (the default last)."""
    from segmentation.foreground import ForegroundConfig
    from segmentation.frame import SegmentConfig

    return {
        "everything at full resolution, GrabCut at full resolution, 4 iterations": SegmentConfig(
            working_max_side=FULL, foreground=ForegroundConfig(grabcut_max_side=FULL, grabcut_iterations=4)
        ),
        "previous settings: 4 GrabCut iterations, every hole filled": SegmentConfig(
            foreground=ForegroundConfig(grabcut_iterations=4, max_hole_area=FULL * FULL)
        ),
        "default: 960 px working resolution, GrabCut 360 px x 2 iterations, holes > 400 px kept": SegmentConfig(),
    }


def measure(scene, config=None) -> dict:
    """Seconds (wall, CPU) of one frame's segment_frame (the package's defaults when `config` is None) and its
    IoUs against the scene's ground truth."""
    from segmentation.frame import FrameInputs, segment_frame
    from segmentation.metrics import mask_iou, person_iou

    args = (scene.cameras, scene.bodies, scene.person_ids, "grabcut", FrameInputs(images=list(scene.images)))
    wall, cpu = time.perf_counter(), time.process_time()
    result = segment_frame(*args) if config is None else segment_frame(*args, config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    index = np.stack(list(result.index))
    return {
        "wall": wall,
        "cpu": cpu,
        "fg_iou": float(np.mean([mask_iou(result.foreground[v], scene.gt_index[v] >= 0) for v in range(len(scene.cameras))])),
        "person_iou": float(np.nanmean(person_iou(index, scene.gt_index, len(scene.person_ids)))),
    }


def warm_up(scene) -> None:
    """Compile the renderer's kernels (first use) outside the timings."""
    from segmentation.frame import FrameInputs, segment_frame

    segment_frame(scene.cameras, scene.bodies, scene.person_ids, "masks", FrameInputs(masks=list((scene.gt_index >= 0).astype(np.uint8))))


def worker(scenes_path: str, package_root: str) -> int:
    """Measure the default of the segmentation package under `package_root` on the pickled scenes (JSON rows)."""
    sys.path.insert(0, package_root)
    with open(scenes_path, "rb") as file:
        scenes = pickle.load(file)
    warm_up(scenes[0])
    print(json.dumps([measure(scene) for scene in scenes]))
    return 0


def previous_rows(revision: str, scenes: list) -> list[dict]:
    """Rows of the segmentation package of git `revision` on `scenes`, measured in a subprocess."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision, "segmentation"],
                             capture_output=True, check=True).stdout  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        tarfile.open(fileobj=io.BytesIO(archive)).extractall(folder)
        scenes_path = Path(folder) / "scenes.pkl"
        scenes_path.write_bytes(pickle.dumps(scenes))
        out = subprocess.run([sys.executable, __file__, "--worker", str(scenes_path), folder], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=2, help="scenes (seeds) per category")
    parser.add_argument("--previous", metavar="REV", help="also measure the segmentation package of this git revision")
    parser.add_argument("--no-write", action="store_true", help="print only, do not edit docs/BENCHMARKS.md")
    parser.add_argument("--worker", nargs=2, metavar=("SCENES", "PACKAGE_ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(*args.worker)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from body.anny_body import AnnyBody
    from calibration.ring_rig import ring_rig
    from synth.segmentation_scenes import make_scene

    body = AnnyBody()
    cameras = list(ring_rig(5, radius=4.5, height=1.6, image_size=(1920, 1080), fov_deg=60.0).cameras)
    scenes = [make_scene(body, category, cameras, 3, seed=seed) for category in ("natural", "close") for seed in range(args.scenes)]
    warm_up(scenes[0])
    rows: dict[str, list[dict]] = {}
    if args.previous:
        revision = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.previous], capture_output=True,
                                  text=True, check=True).stdout.strip()  # fmt: skip
        rows[f"previous code ({revision}), its defaults"] = previous_rows(revision, scenes)
    for name, config in variants().items():
        rows[name] = [measure(scene, config) for scene in scenes]
        logger.info("%s: %s", name, rows[name])
    means = {name: {key: float(np.mean([row[key] for row in values])) for key in KEYS} for name, values in rows.items()}
    lines = ["| method | wall s / frame | CPU s / frame | foreground IoU | person IoU |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {name} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['fg_iou']:.4f} | {m['person_iou']:.4f} |" for name, m in means.items()]
    default = list(means.values())[-1]
    ratios = "; ".join(f"{m['cpu'] / default['cpu']:.1f}x less than {name.split(':')[0].split(',')[0]}"
                       for name, m in list(means.items())[:-1])  # fmt: skip
    table = "\n".join(lines) + f"\n\nCPU seconds of the default, same run: {ratios}."
    print(table)
    if not args.no_write:
        command = f"--scenes {args.scenes}" + (f" --previous {args.previous}" if args.previous else "")
        write_section(SECTION, f"{SECTION}\n\nCommand: `.venv/bin/python bench/bench_segmentation_speed.py {command}`  \n"
                      f"Machine: 2-core CPU, no GPU. Date: {datetime.date.today()}.\n\n"
                      f"{__doc__.split(chr(10) + chr(10))[1]}\n\n{table}\n", after="## Segmentation")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
