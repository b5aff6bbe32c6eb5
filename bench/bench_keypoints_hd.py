"""Who is found on synthetic HD captures: the keypoint stage's defaults (rig-sized tiles, rig-guided re-detection)
against the full-frame pass alone, then `capture body --no-fit` (association + tracking).

Run: .venv/bin/python bench/bench_keypoints_hd.py --captures CAP [CAP ...] --work DIR [--no-write]
Each CAP is a `capture synth` folder (rig.yaml, images/, masks/, keypoints/ = ground-truth 2D, gt/keypoints3d/).
Its images are copied to DIR with the black background replaced by a texture (seeded, per camera), so the detector
sees a cluttered scene. Prints the figures and rewrites the section "## 2D keypoint detection, HD captures" of
docs/BENCHMARKS.md.

Protocol: a person is visible in a view when at least MIN_VISIBLE_JOINTS of its ground-truth BODY_25 joints are
visible there (confidence 1: in the image, not hidden); found in the view when a written detection matches it
(`body.detection.evaluation.match_people`). A person-frame counts when the person is visible in >= 2 views; it is
found and tracked when a person of `capture body`'s output for that frame (a track) has its triangulated joints
within TRACK_MATCH_M (mean) of the true 3D joints, matched one-to-one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_keypoints_synth import SECTION as AFTER  # noqa: E402
from bench.benchmarks_doc import BENCHMARKS, write_section  # noqa: E402
from body.capture_io import read_body_frame  # noqa: E402
from body.detection import create_detector, read_openpose_json  # noqa: E402
from body.detection.evaluation import match_people, reference_size  # noqa: E402
from body.detection.frames import camera_frame_numbers, read_image  # noqa: E402
from body.detection.stage import KeypointStageConfig, run_keypoint_stage  # noqa: E402
from calibration.atomic import write_png  # noqa: E402
from calibration.rig import CaptureLayout, FrameRange, Rig  # noqa: E402
from calibration.rig_file import load_rig, save_rig  # noqa: E402
from calibration.run_layout import RunLayout  # noqa: E402

SECTION = "## 2D keypoint detection, HD captures"
DATE = "2026-12-07"
MACHINE = "2-core CPU shared with other jobs, no GPU"
MIN_VISIBLE_JOINTS = 8
TRACK_MATCH_M = 0.2
VARIANTS = {
    "full frame only (before)": KeypointStageConfig(tile_size=0, redetect=False),
    "stage defaults: rig tiles + re-detection": KeypointStageConfig(),
}


def textured_copy(capture: Path, work: Path) -> Rig:
    """The capture's images with a textured background (mask 0) under ``work/images``; its rig pointing there."""
    rig = load_rig(capture / "rig.yaml")
    for index, camera in enumerate(rig.names):
        rng = np.random.default_rng(index)
        coarse = rng.integers(0, 256, size=(9, 16, 3), dtype=np.uint8)
        texture = cv2.resize(coarse, (rig[camera].width, rig[camera].height), interpolation=cv2.INTER_CUBIC)
        stripes = (np.indices(texture.shape[:2]).sum(0) // 24 % 2 * 40).astype(np.int16)[..., None]
        noise = rng.integers(-25, 26, size=texture.shape, dtype=np.int16)
        texture = np.clip(texture.astype(np.int16) + stripes + noise, 0, 255).astype(np.uint8)
        for frame in camera_frame_numbers(rig.layout, camera, FrameRange()):
            image = read_image(rig.layout.image_dir(camera) / f"{frame:06d}.png")
            mask = read_image(rig.layout.mask_dir(camera) / f"{frame:06d}.png", cv2.IMREAD_GRAYSCALE)
            image[mask == 0] = texture[mask == 0][..., ::-1]  # BGR on disk
            write_png(work / "images" / camera / f"{frame:06d}.png", image)
    textured = Rig(rig.cameras, CaptureLayout(images=work / "images"))
    save_rig(textured, work / "rig.yaml")
    return load_rig(work / "rig.yaml")


def visible_people(capture: Path, camera: str, frame: int) -> dict[int, object]:
    """{person id: PersonKeypoints} of the people visible in the view (ground-truth 2D file, same order)."""
    path = capture / "keypoints" / camera / f"{frame:06d}.json"
    ids = [person["person_id"][0] for person in json.loads(path.read_text())["people"]]
    truth = read_openpose_json(path)
    return {i: p for i, p in zip(ids, truth) if (p.confidence >= 1.0).sum() >= MIN_VISIBLE_JOINTS}


def found_in_view(run: Path, camera: str, frame: int, truth: dict) -> set[int]:
    detected = read_openpose_json(run / "keypoints" / camera / f"{frame:06d}.json", "body25")
    keys = list(truth)
    references = [truth[k].keypoints for k in keys]
    evaluated = [truth[k].confidence >= 1.0 for k in keys]
    sizes = [reference_size(truth[k].keypoints, truth[k].confidence > 0) for k in keys]
    matches = match_people(detected, references, evaluated, sizes)
    return {k for k, m in zip(keys, matches) if m is not None}


def tracked(run: Path, capture: Path, frame: int) -> set[int]:
    """Ground-truth person ids matched one-to-one to a person of the body output, mean joint distance < TRACK_MATCH_M."""
    truth = json.loads((capture / "gt" / "keypoints3d" / f"{frame:06d}.json").read_text())["people"]
    path = RunLayout(run).body_file(frame)
    people = read_body_frame(path)[1] if path.exists() else []
    cost = np.full((len(truth), len(people)), np.inf)
    for t, person in enumerate(truth):
        joints = np.asarray(person["keypoints"])
        for b, body in enumerate(people):
            used = body.confidence[: len(joints)] > 0
            if used.any():
                cost[t, b] = np.linalg.norm(body.keypoints[: len(joints)][used] - joints[used], axis=-1).mean()
    if not cost.size:
        return set()
    rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
    return {truth[r]["person_id"] for r, c in zip(rows, cols) if cost[r, c] < TRACK_MATCH_M}


def evaluate(capture: Path, rig: Rig, run: Path) -> dict:
    views = found = person_frames = person_tracked = 0
    frames = camera_frame_numbers(rig.layout, rig.names[0], FrameRange())
    for frame in frames:
        seen: dict[int, int] = {}
        for camera in rig.names:
            truth = visible_people(capture, camera, frame)
            views += len(truth)
            found += len(found_in_view(run, camera, frame, truth))
            for k in truth:
                seen[k] = seen.get(k, 0) + 1
        wanted = {k for k, count in seen.items() if count >= 2}
        person_frames += len(wanted)
        person_tracked += len(wanted & tracked(run, capture, frame))
    return {"views": (found, views), "person_frames": (person_tracked, person_frames), "frames": len(frames)}


def run(captures: list[Path], work: Path) -> list[dict]:
    rows = []
    with create_detector("blazepose", layout="body25") as detector:
        for capture in captures:
            rig = textured_copy(capture, work / capture.name)
            frames = {name: camera_frame_numbers(rig.layout, name, FrameRange()) for name in rig.names}
            for variant, config in VARIANTS.items():
                out = work / capture.name / ("before" if config.tile_size == 0 else "after")
                start = time.perf_counter()
                summary = run_keypoint_stage(rig, out, frames, config, detector=detector)
                seconds = time.perf_counter() - start
                subprocess.run([str(Path(sys.executable).parent / "capture"), "body", "--rig", str(work / capture.name / "rig.yaml"),
                                "--keypoints", str(out / "keypoints"), "--out", str(out), "--no-fit", "--force"],
                               check=True, cwd=ROOT, capture_output=True)  # fmt: skip
                result = evaluate(capture, rig, out)
                result.update(capture=capture.name, variant=variant, seconds=seconds, tiles=summary.tile_sizes,
                              images=sum(map(len, frames.values())),
                              coverage=tuple(map(sum, zip(*summary.totals().values()))))  # fmt: skip
                rows.append(result)
                print(result, flush=True)
    return rows


def section_text(captures: list[Path], work: Path, rows: list[dict]) -> str:
    names = " ".join(str(c) for c in captures)
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/bench_keypoints_hd.py --captures {names} --work {work}` ({MACHINE},",
        f"{DATE}; mediapipe 0.10.14 BlazePose full). Captures made outside the repository with `capture synth",
        "--category natural --rig rig_hd.yaml --frames 4` (`--people 3 --seed 0` and `--people 4 --seed 1`), rig_hd.yaml",
        "= `calibration.ring_rig.ring_rig(5, radius=4.5, height=2.2, image_size=(1920, 1080), fov_deg=70, jitter=0.3,",
        "seed=3)` (people 3-6 m from the cameras); the bench replaces the black background by a seeded texture.",
        f"A person is visible in a view with >= {MIN_VISIBLE_JOINTS} visible ground-truth joints; found there when a",
        "written detection matches it (`match_people`). Person-frames: people visible in >= 2 views; found and tracked",
        f"when a person of `capture body --no-fit` (association + tracking, no fit) is within {TRACK_MATCH_M} m (mean",
        "joint distance) of the true joints. Stage coverage: the stage's own report (people triangulated from >= 2",
        "views found / expected in the views they project into). Same detector, same run, both variants.",
        "",
        "| capture | variant | images | tiles (px) | found in views | person-frames found and tracked | stage coverage "
        "| s / image |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        (fv, v), (ft, t) = row["views"], row["person_frames"]
        found, expected = row["coverage"] if row["coverage"] else (0, 0)
        tiles = sorted(set(row["tiles"].values()))
        lines.append(
            f"| {row['capture']} | {row['variant']} | {row['images']} | {', '.join(map(str, tiles))} | {fv}/{v} "
            f"({fv / max(v, 1):.0%}) | {ft}/{t} ({ft / max(t, 1):.0%}) | {found}/{expected} | "
            f"{row['seconds'] / row['images']:.1f} |"
        )
    lines.append("")
    for variant in VARIANTS:
        tracked_, frames_ = (sum(row["person_frames"][i] for row in rows if row["variant"] == variant) for i in (0, 1))
        lines.append(f"- {variant}, all captures: {tracked_}/{frames_} person-frames found and tracked "
                     f"({tracked_ / max(frames_, 1):.1%}; the target is 98 %).")  # fmt: skip
    lines += ["", "Time: the keypoint stage's wall time per image (decoding and writing included).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", nargs="+", type=Path, required=True, help="`capture synth` folders")
    parser.add_argument("--work", type=Path, required=True, help="folder for the textured copies and the runs")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    text = section_text(args.captures, args.work, run(args.captures, args.work))
    print(text)
    if not args.no_write:
        write_section(SECTION, text, after=AFTER)
        print(f"updated {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
