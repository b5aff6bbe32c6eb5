"""2D keypoints of the offline BlazePose detector against OpenPose BODY_25B on the real Pose2Sim frames.

Run: .venv/bin/python bench/bench_keypoints.py [--step 2] [--no-write]
Needs mediapipe 0.10.14 (pip install '.[detect]') and ../shared/data/pose2sim_demo. Prints the figures and
rewrites the section "## 2D keypoint detection" of docs/BENCHMARKS.md.

Protocol: every `step`-th of the 100 frames of the 4 videos; the main subject is OpenPose's tallest person of
the frame; our detection of it is the one nearest (median distance over the common joints). Common joints: the
17 COCO joints, the heels and the big toes (BlazePose's foot index); reference joints with OpenPose confidence
< 0.3 are left out. PCK@a: share of reference joints whose detection lies within a * (bounding-box size of the
reference joints, the longer side); a joint we miss counts as a failure. Variants: full frame only; + square
tiles of 720 px; + crops around the boxes of Pose2Sim's triangulated skeleton (.trc) reprojected into the view
(what the pipeline's second pass will use: people other views already triangulated).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import BENCHMARKS, write_section  # noqa: E402
from body.detection import CropPassConfig, create_detector, detect_people  # noqa: E402
from body.detection.people import PersonKeypoints  # noqa: E402
from body.keypoint_layouts import get_layout  # noqa: E402
from calibration.formats import import_rig  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "pose2sim_demo"
SECTION = "## 2D keypoint detection"
DATE = "2026-11-21"
MACHINE = "2-core CPU, no GPU"
CAMERAS = ("cam01", "cam02", "cam03", "cam04")
REFERENCE_MIN_CONFIDENCE = 0.3
OURS, REFERENCE = get_layout("body25"), get_layout("body25b")
COMMON = tuple(n for n in REFERENCE.keypoints if n in OURS.keypoints and "small_toe" not in n)
GROUPS = {
    "head (nose, eyes, ears)": ("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
    "arms (shoulders, elbows, wrists)": tuple(
        f"{s}_{j}" for j in ("shoulder", "elbow", "wrist") for s in ("left", "right")
    ),
    "legs (hips, knees, ankles)": tuple(f"{s}_{j}" for j in ("hip", "knee", "ankle") for s in ("left", "right")),
    "feet (heels, big toes)": ("left_heel", "right_heel", "left_big_toe", "right_big_toe"),
}  # fmt: skip
FLIPPED = tuple(
    n.replace("left_", "@").replace("right_", "left_").replace("@", "right_") for n in COMMON
)  # the same joints with the person's left and right exchanged
VARIANTS = {
    "full frame": CropPassConfig(),
    "full frame + 720 px tiles": CropPassConfig(tile_size=720),
    "full frame + crops at reprojected .trc boxes": CropPassConfig(),
}


@dataclass
class Tally:
    """Per-joint errors (NaN = missed) normalised and in pixels, plus counts and timings."""

    normalised: list[np.ndarray] = field(default_factory=list)  # per image (len(COMMON),)
    flip_tolerant: list[np.ndarray] = field(default_factory=list)  # the same, best of as-is and left/right flipped
    pixels: list[np.ndarray] = field(default_factory=list)
    offsets: list[np.ndarray] = field(default_factory=list)  # (n, 2) ours - reference, px
    seconds: list[float] = field(default_factory=list)
    subject_found: int = 0
    images: int = 0
    second_person_frames: int = 0
    second_person_found: int = 0

    def merge(self, other: Tally) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def reference_people(camera: str, frame: int) -> list[np.ndarray]:
    """OpenPose's people of a frame with at least 4 joints of confidence >= 0.3: per person (25, 3)."""
    path = DATA / "pose_openpose_json_BODY25B" / f"{camera}_json" / f"{camera}.{frame:04d}.json"
    people = json.loads(path.read_text())["people"]
    people = [np.asarray(p["pose_keypoints_2d"], dtype=np.float64).reshape(-1, 3) for p in people]
    return [p for p in people if np.count_nonzero(p[:, 2] >= REFERENCE_MIN_CONFIDENCE) >= 4]


def trc_world_points() -> np.ndarray:
    """(frames, markers, 3) Pose2Sim's triangulated markers in world coordinates, metres."""
    rows = (DATA / "pose2sim_triangulated_reference_0-100.trc").read_text().splitlines()[5:]
    values = np.array([[float(v) for v in row.split("\t")[2:]] for row in rows if row.strip()])
    trc = values.reshape(len(values), -1, 3)
    return trc[..., [2, 0, 1]]  # trc (X, Y, Z) = world (y, z, x)


def errors(
    person: PersonKeypoints | None, reference: np.ndarray, ours_names: tuple[str, ...] = COMMON
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per common joint: distance / box size and distance in px (NaN where missed, inf where not a reference
    joint), and the box size. `ours_names`: our joint compared with each of COMMON's reference joints."""
    ref = np.array([reference[REFERENCE.index(n)] for n in COMMON])
    valid = ref[:, 2] >= REFERENCE_MIN_CONFIDENCE
    size = float(np.ptp(ref[valid, :2], axis=0).max())
    distance = np.full(len(COMMON), np.nan)
    if person is not None:
        ours = np.array([person.keypoints[OURS.index(n)] for n in ours_names])
        found = np.array([person.confidence[OURS.index(n)] > 0 for n in ours_names])
        distance = np.where(found, np.linalg.norm(ours - ref[:, :2], axis=1), np.nan)
    distance[~valid] = np.inf  # not a reference joint: excluded below
    return distance / size, distance, size


def median_error(normalised: np.ndarray) -> float:
    """Median normalised error over the reference joints, a missed joint counting as one box size."""
    return float(np.median(np.nan_to_num(normalised[~np.isinf(normalised)], nan=1.0)))


def nearest(people: list[PersonKeypoints], reference: np.ndarray) -> PersonKeypoints | None:
    """Our person nearest to a reference person (median normalised distance < 0.5), or None."""
    best, best_score = None, 0.5
    for person in people:
        normalised, _, _ = errors(person, reference)
        finite = normalised[np.isfinite(normalised)]
        if finite.size >= 4 and np.median(finite) < best_score:
            best, best_score = person, float(np.median(finite))
    return best


def evaluate_camera(detector, camera: str, frames: list[int], config: CropPassConfig, boxes) -> Tally:
    tally = Tally()
    video = cv2.VideoCapture(str(DATA / "videos" / f"{camera}.mp4"))
    for frame in range(max(frames) + 1):
        ok, bgr = video.read()
        if not ok:
            raise RuntimeError(f"{camera}: the video ends before frame {frame}")
        if frame not in frames:
            continue
        image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        start = time.perf_counter()
        people = detect_people(detector, image, None if boxes is None else boxes[frame][None], config)
        tally.seconds.append(time.perf_counter() - start)
        references = sorted(reference_people(camera, frame), key=lambda r: -np.ptp(r[r[:, 2] > 0, 1]))
        subject = nearest(people, references[0])
        normalised, pixels, _ = errors(subject, references[0])
        tally.images += 1
        tally.subject_found += subject is not None
        tally.normalised.append(normalised)
        flipped, _, _ = errors(subject, references[0], FLIPPED)
        tally.flip_tolerant.append(flipped if median_error(flipped) < median_error(normalised) else normalised)
        tally.pixels.append(pixels)
        if subject is not None:
            ref = np.array([references[0][REFERENCE.index(n), :2] for n in COMMON])
            ours = np.array([subject.keypoints[OURS.index(n)] for n in COMMON])
            tally.offsets.append((ours - ref)[np.isfinite(pixels)])
        if len(references) > 1:
            tally.second_person_frames += 1
            others = [p for p in people if p is not subject]
            tally.second_person_found += nearest(others, references[1]) is not None
    video.release()
    return tally


def trc_boxes(camera) -> np.ndarray:
    """(frames, 4) box of the reprojected .trc markers per frame (pixels)."""
    world = trc_world_points()
    pixels = camera.project(world.reshape(-1, 3)).reshape(world.shape[0], -1, 2)
    return np.concatenate([pixels.min(axis=1), pixels.max(axis=1)], axis=1)


def pck(normalised: list[np.ndarray], threshold: float) -> float:
    """Share of reference joints (finite or NaN entries) within `threshold` (NaN = missed = failure)."""
    values = np.concatenate(normalised)
    values = values[~np.isinf(values)]
    return float(np.mean(np.nan_to_num(values, nan=np.inf) <= threshold))


def summary(tally: Tally) -> dict[str, float]:
    pixels = np.concatenate(tally.pixels)
    pixels = pixels[np.isfinite(pixels)]
    return {
        "pck05": pck(tally.normalised, 0.05),
        "pck10": pck(tally.normalised, 0.1),
        "pck10_flip": pck(tally.flip_tolerant, 0.1),
        "median_px": float(np.median(pixels)),
        "found": tally.subject_found / tally.images,
        "ms": 1000 * statistics.median(tally.seconds),
        "images": tally.images,
        "second": (tally.second_person_found, tally.second_person_frames),
    }


def group_pck(tally: Tally) -> dict[str, tuple[float, float]]:
    normalised = np.nan_to_num(np.stack(tally.normalised), nan=np.inf)  # (images, joints)
    valid = ~np.isinf(np.stack(tally.normalised))
    result = {}
    for name, joints in GROUPS.items():
        columns = [COMMON.index(j) for j in joints]
        values, mask = normalised[:, columns], valid[:, columns]
        result[name] = (float(np.mean(values[mask] <= 0.05)), float(np.mean(values[mask] <= 0.1)))
    return result


def run(step: int) -> str:
    frames = list(range(0, 100, step))
    rig = import_rig("anipose", [DATA / "calibration" / "Calib_qualisys_converted.toml"])
    with create_detector("blazepose", layout="body25") as detector:
        warm = cv2.cvtColor(cv2.VideoCapture(str(DATA / "videos" / "cam01.mp4")).read()[1], cv2.COLOR_BGR2RGB)
        start = time.perf_counter()
        detector.detect(warm)
        first_call = time.perf_counter() - start
        results: dict[str, dict[str, Tally]] = {}
        for variant, config in VARIANTS.items():
            results[variant] = {}
            for camera in CAMERAS:
                boxes = trc_boxes(rig[camera]) if "trc" in variant else None
                results[variant][camera] = evaluate_camera(detector, camera, frames, config, boxes)
                print(variant, camera, summary(results[variant][camera]), flush=True)
    return section_text(results, frames, first_call)


def section_text(results: dict[str, dict[str, Tally]], frames: list[int], first_call: float) -> str:
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/bench_keypoints.py` ({MACHINE}, {DATE}; mediapipe 0.10.14, BlazePose",
        "full through the Tasks `PoseLandmarker`, bundle built from the wheel; IMAGE mode, no temporal tracking).",
        f"Data: the real Pose2Sim demo, 4 views x {len(frames)} frames (frame step {frames[1] - frames[0]} of 100),",
        "1080 or 1088 x 1920 portrait. Reference: the OpenPose BODY_25B JSON shipped with the data (itself a",
        f"detector, not ground truth). Joints compared: {len(COMMON)} (17 COCO, heels, big toe = BlazePose foot",
        f"index); reference joints below OpenPose confidence {REFERENCE_MIN_CONFIDENCE} left out; a missed joint",
        "fails. PCK normaliser: the longer side of the reference joints' box (the subject is ~650-800 px tall).",
        "",
        "| variant | view | PCK@0.05 | PCK@0.1 | PCK@0.1 L/R-tolerant | median px | subject found | bystander found"
        " | ms / image |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant, cameras in results.items():
        total = Tally()
        for camera, tally in cameras.items():
            total.merge(tally)
            lines.append(_row(variant, camera, summary(tally)))
        lines.append(_row(variant, "**all**", summary(total)))
    full = Tally()
    for tally in results["full frame"].values():
        full.merge(tally)
    lines += ["", "Per joint group (full frame, all views):", ""]
    lines += ["| joints | PCK@0.05 | PCK@0.1 |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {a:.3f} | {b:.3f} |" for name, (a, b) in group_pck(full).items()]
    offsets = {camera: np.median(np.concatenate(t.offsets), axis=0) for camera, t in results["full frame"].items()}
    lines += [
        "",
        "Median signed offset ours - OpenPose (x, y) px per view: "
        + ", ".join(f"{c} ({o[0]:+.1f}, {o[1]:+.1f})" for c, o in offsets.items())
        + ".",
        "cam01/cam02 decode at 1080 px wide while the calibration says 1088: pixel coordinates are kept as",
        "decoded (taken as the codec's crop of the right edge; the OpenPose reference was presumably made on the",
        "same decoded frames, so this comparison cannot tell a crop from a 0.7 % rescale).",
        f"First `detect` call after creating the detector: {first_call:.2f} s. Time per image: median wall time",
        "of `detect_people` on one 1080 x 1920 image, decoding excluded (CPU shared with other jobs: noisy).",
        "Bystander: frames where OpenPose has a",
        "second person (cam01, cam02) and we detect someone within 0.5 box size of it. L/R-tolerant: per image, the",
        "better of our labelling and its left/right mirror (a swap of the person's sides, which multi-view",
        "association can repair, against a wrong position, which it cannot).",
        "",
    ]
    return "\n".join(lines)


def _row(variant: str, camera: str, s: dict) -> str:
    found, frames = s["second"]
    bystander = f"{found}/{frames}" if frames else "-"
    return (
        f"| {variant} | {camera} | {s['pck05']:.3f} | {s['pck10']:.3f} | {s['pck10_flip']:.3f} | "
        f"{s['median_px']:.1f} | {s['found']:.2f} | {bystander} | {s['ms']:.0f} |"
    )



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=2, help="use every step-th frame (default 2)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"real data not found at {DATA}", file=sys.stderr)
        return 1
    text = run(args.step)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
        print(f"updated {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
