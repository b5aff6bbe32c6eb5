"""PCK of the offline BlazePose detector on synthetic renders against their ground-truth 2D keypoints.

Run: .venv/bin/python bench/bench_keypoints_synth.py [--bench /work/bench_data] [--no-write]
The benchmark folder is one made by `capture synth-bench` (manifest.json + scenes with rig.yaml, images/,
keypoints/ = ground-truth BODY_25 projections, confidence 1 visible, 0.3 occluded, 0 outside). Prints the
figures and rewrites the section "## 2D keypoint detection, synthetic renders" of docs/BENCHMARKS.md.

Protocol: every image of every scene; evaluated joints: the ground truth's visible ones (confidence 1) except
the small toes (BlazePose has none). Detections are matched one-to-one to ground-truth people by keypoint
distance (`body.detection.evaluation.match_people`); a ground-truth person without a match misses all its
joints. PCK normaliser: the longer side of the box of the person's in-image ground-truth joints. Variants:
full frame; full frame + crops at the ground-truth boxes (the second pass with perfect boxes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_keypoints import SECTION as AFTER  # noqa: E402
from bench.benchmarks_doc import BENCHMARKS, write_section  # noqa: E402
from body.detection import CropPassConfig, create_detector, detect_people, read_openpose_json  # noqa: E402
from body.detection.evaluation import match_people, normalised_errors, pck, reference_size  # noqa: E402
from body.detection.frames import read_camera_frames  # noqa: E402
from body.keypoint_layouts import get_layout  # noqa: E402
from calibration.rig_file import load_rig  # noqa: E402

SECTION = "## 2D keypoint detection, synthetic renders"
DATE = "2026-11-21"
MACHINE = "2-core CPU, no GPU"
LAYOUT = get_layout("body25")
EXCLUDED = tuple(LAYOUT.index(n) for n in LAYOUT.keypoints if "small_toe" in n)
VISIBLE = 1.0  # ground-truth confidence of a visible joint


def evaluate_image(detector, image: np.ndarray, truth: list, with_crops: bool) -> tuple[list[np.ndarray], float, int]:
    """Normalised errors per ground-truth person (K,), the detection seconds, and how many people were matched."""
    references = [person.keypoints for person in truth]
    evaluated = []
    for person in truth:
        mask = person.confidence >= VISIBLE
        mask[list(EXCLUDED)] = False
        evaluated.append(mask)
    sizes = [reference_size(person.keypoints, person.confidence > 0) for person in truth]
    boxes = np.stack([person.bbox for person in truth]) if with_crops and truth else None
    start = time.perf_counter()
    detected = detect_people(detector, image, boxes, CropPassConfig())
    seconds = time.perf_counter() - start
    matches = match_people(detected, references, evaluated, sizes)
    errors = [normalised_errors(m, r, e, s) for m, r, e, s in zip(matches, references, evaluated, sizes)]
    return errors, seconds, sum(m is not None for m in matches)


def run(bench: Path) -> dict:
    manifest = json.loads((bench / "manifest.json").read_text())
    results: dict = defaultdict(lambda: defaultdict(lambda: {"errors": [], "seconds": [], "people": 0, "found": 0}))
    with create_detector("blazepose", layout="body25") as detector:
        for scene in manifest["scenes"]:
            rig = load_rig(bench / scene["rig"])
            for camera in rig.names:
                keypoint_dir = rig.layout.keypoints / rig.layout.camera_folder(camera)
                available = sorted(int(path.stem) for path in keypoint_dir.glob("*.json"))
                for frame, image in read_camera_frames(rig.layout, camera, available):
                    truth = read_openpose_json(keypoint_dir / f"{frame:06d}.json")
                    truth = [p for p in truth if np.any(p.confidence >= VISIBLE)]
                    for variant, crops in (("full frame", False), ("full frame + crops at GT boxes", True)):
                        errors, seconds, matched = evaluate_image(detector, image, truth, crops)
                        entry = results[variant][scene["category"]]
                        entry["errors"] += errors
                        entry["seconds"].append(seconds)
                        entry["people"] += len(errors)
                        entry["found"] += matched
            print(scene["path"], {v: _summary(c[scene["category"]]) for v, c in results.items()}, flush=True)
    return {"manifest": manifest, "results": results}


def _summary(entry: dict) -> dict:
    errors = np.concatenate(entry["errors"]) if entry["errors"] else np.zeros(0)
    joints = errors[~np.isinf(errors)]
    return {
        "pck05": pck(errors, 0.05),
        "pck10": pck(errors, 0.1),
        "pck20": pck(errors, 0.2),
        "median": float(np.median(np.nan_to_num(joints, nan=1.0))) if joints.size else float("nan"),
        "joints": int(joints.size),
        "found": (entry["found"], entry["people"]),
        "ms": 1000 * statistics.median(entry["seconds"]),
        "images": len(entry["seconds"]),
    }


def section_text(bench: Path, run_result: dict) -> str:
    manifest, results = run_result["manifest"], run_result["results"]
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/bench_keypoints_synth.py --bench {bench}` ({MACHINE}, {DATE}; mediapipe",
        "0.10.14 BlazePose full, IMAGE mode). Data: a `capture synth-bench` folder made outside the repository",
        "(`capture synth-bench --out DIR --scenes-per-category 3 --views 6 --size 512 --seed 0`)",
        f"({len(manifest['scenes'])} scenes, {manifest['views']} views each at {manifest['image_size']}^2, one frame;"
        f" categories {', '.join(manifest['categories'])}; `two_close` is the close-interaction category).",
        "Ground truth: the scenes' `keypoints/` (BODY_25 projections of the true 3D joints); evaluated joints: those",
        "visible in the ground truth (confidence 1, i.e. not behind someone/something by > 0.15 m) except the small",
        "toes; detections matched one-to-one to true people by keypoint distance (Hungarian, median normalised",
        "distance < 0.5); an unmatched true person misses all its joints (counted as failures). PCK normaliser: the",
        "longer side of the box of the person's in-image ground-truth joints. The ground truth follows the body",
        "model's joint definitions (Anny's BODY_25), not BlazePose's training labels, so part of the error at 0.05",
        "may be a difference of definition rather than of detection (not separated here).",
        "",
        "| variant | category | images | people matched | joints | PCK@0.05 | PCK@0.1 | PCK@0.2 | median error (box) "
        "| ms / image |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant, categories in results.items():
        total: dict = {"errors": [], "seconds": [], "people": 0, "found": 0}
        for category in manifest["categories"]:
            if category not in categories:
                continue
            entry = categories[category]
            for key in total:
                total[key] += entry[key]
            lines.append(_row(variant, category, _summary(entry)))
        lines.append(_row(variant, "**all**", _summary(total)))
    lines += [
        "",
        "Time per image: median wall time of `detect_people` on one 512 x 512 image (decoding excluded; CPU shared",
        "with other jobs). Median error: over evaluated joints, a missed joint counted as 1 box size.",
        "",
    ]
    return "\n".join(lines)


def _row(variant: str, category: str, s: dict) -> str:
    found, people = s["found"]
    return (
        f"| {variant} | {category} | {s['images']} | {found}/{people} | {s['joints']} | {s['pck05']:.3f} | "
        f"{s['pck10']:.3f} | {s['pck20']:.3f} | {s['median']:.3f} | {s['ms']:.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=Path("/work/bench_data"), help="capture synth-bench folder")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    if not (args.bench / "manifest.json").is_file():
        print(f"no synthetic benchmark at {args.bench} (make one: capture synth-bench --out DIR)", file=sys.stderr)
        return 1
    text = section_text(args.bench, run(args.bench))
    print(text)
    if not args.no_write:
        write_section(SECTION, text, after=AFTER)
        print(f"updated {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
