"""4D body capture benchmark: synthetic sequences (make_motion + ring rig + detector simulator) and the real
Pose2Sim demo through `capture body`; writes the `## 4D body capture` section of docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_body_capture.py [--frames 60] [--fit-iterations 60] [--skip-pose2sim]

With ``--harder LABEL``: 4 people crossing / with a touching pair, 5 views, 300 frames, on the plain and the
harder detector simulator (``synth.detector_sim.detector_mode``); PCP, MPJPE, id switches and speeds, written
as rows named LABEL into the `## 4D body capture, harder detections` section (rows of other labels are kept, so
the measurement of earlier code stays beside the newer one).

    .venv/bin/python bench/bench_body_capture.py --harder "after" [--frames 300] [--fit-iterations 60] [--fit-frames N]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchmarks_doc import write_section  # noqa: E402
from body.anny_body import AnnyBody  # noqa: E402
from body.association import Associator  # noqa: E402
from multihuman_eval.body_capture import run_synthetic
from synth.body_capture import simulate_capture  # noqa: E402
from synth.detector_sim import HARDER, HARDER_NOISE, detector_mode  # noqa: E402
from body.fitting import FitConfig  # noqa: E402
from body.sequence_fit import SequenceFitConfig  # noqa: E402
from calibration.geometry import triangulate_dlt  # noqa: E402
from calibration.ring_rig import ring_rig  # noqa: E402
from synth.motion import make_motion  # noqa: E402

POSE2SIM = ROOT.parent / "shared" / "data" / "pose2sim_demo"
HEADING = "## 4D body capture"
HARDER_HEADING = "## 4D body capture, harder detections"
HARDER_CASES = (("crossing", 4, 5), ("close", 4, 5))
HARDER_RIG = {"radius": 5.0, "fov_deg": 60.0}
"""A ring of 5 cameras around a Shelf-sized space: every person of HARDER_CASES in every view."""
logger = logging.getLogger("bench_body_capture")


def oracle_dlt_mpjpe(capture) -> float:
    """Baseline: detections grouped by their true person (perfect association), plain weighted DLT (mm)."""
    errors = []
    for t, views in enumerate(capture.simulated):
        for person in np.flatnonzero(capture.present[:, t]):
            pixels = np.zeros((len(views), capture.keypoints.shape[2], 2))
            weights = np.zeros(pixels.shape[:2])
            for v, view in enumerate(views):
                rows = np.flatnonzero(view.person == person)
                if len(rows):
                    pixels[v], weights[v] = view.keypoints[rows[0]], view.confidence[rows[0]]
            points = triangulate_dlt(torch.from_numpy(pixels), list(capture.rig), torch.from_numpy(weights)).numpy()
            ok = np.isfinite(points).all(-1)
            errors.append(np.linalg.norm(points[ok] - capture.keypoints[person, t, ok], axis=-1))
    return 1000.0 * float(np.concatenate(errors).mean())


def synthetic_rows(body, frames: int, iterations: int) -> list[str]:
    rows = []
    config = SequenceFitConfig(fit=FitConfig(global_iterations=30, iterations=iterations))
    cases = [("natural", 3, 6, True), ("close", 3, 6, True), ("crossing", 3, 6, False), ("enter_leave", 3, 6, False)]
    for category, people, views, fit in cases:
        motion = make_motion(body, category, people, frames, seed=0)
        capture = simulate_capture(body, motion.params, motion.present, ring_rig(views), seed=0)
        result = run_synthetic(body, capture, fit_config=config, fit=fit)
        m = result.metrics
        fitted = f"{m.fitted_mpjpe_mm:.1f} | {m.vertex_error_mm:.1f} | {result.fit_seconds:.0f}" if fit else "- | - | -"
        rows.append(f"| {category} | {people} x {views} x {frames} | {m.triangulated_mpjpe_mm:.1f} | "
                    f"{oracle_dlt_mpjpe(capture):.1f} | {fitted} | {m.id_switches} | {m.missed} | {m.false_people} | "
                    f"{m.num_tracks} | {result.association_fps:.0f} |")  # fmt: skip
        logger.info(rows[-1])
    return rows


def association_speed(body) -> float:
    """Frames per second of association + triangulation, 4 people x 5 views (30 frames of 'natural')."""
    motion = make_motion(body, "natural", 4, 30, seed=1)
    capture = simulate_capture(body, motion.params, motion.present, ring_rig(5), seed=1)
    associator = Associator(list(capture.rig), capture.layout)
    associator(capture.detections[0])  # warm-up
    start = time.perf_counter()
    for frame in capture.detections:
        associator(frame)
    return len(capture.detections) / (time.perf_counter() - start)


def read_trc_world(path: Path) -> tuple[list[str], np.ndarray]:
    """Marker names and (T, J, 3) world metres from Pose2Sim's .trc, whose (X, Y, Z) = world (y, z, x)."""
    lines = path.read_text().splitlines()
    names = [name for name in lines[3].split("\t") if name][2:]
    values = np.array([[float(v) for v in line.split("\t")] for line in lines[5:] if line.strip()])
    return names, values[:, 2:].reshape(len(values), len(names), 3)[..., [2, 0, 1]]


def pose2sim_rows(iterations: int, work: Path) -> list[str]:
    """Run `capture body` on the Pose2Sim demo; compare the subject's triangulation with the .trc reference."""
    from body.capture_io import read_body_frame
    from body.keypoint_layouts import get_layout
    from calibration.formats import import_rig
    from calibration.rig import CaptureLayout, Rig
    from calibration.rig_file import save_rig
    from capture.commands import body as body_command

    rig = import_rig("anipose", [POSE2SIM / "calibration" / "Calib_qualisys_converted.toml"])
    videos = work / "videos"  # the videos are named like the cameras, the keypoint folders camNN_json:
    videos.mkdir(parents=True, exist_ok=True)  # link each video under its folder name (no copy)
    for name in rig.names:
        link = videos / f"{name}_json.mp4"
        if not link.exists():
            link.symlink_to(POSE2SIM / "videos" / f"{name}.mp4")
    layout = CaptureLayout(videos=videos, keypoints=POSE2SIM / "pose_openpose_json_BODY25B", keypoint_format="openpose",
                           camera_folders={name: f"{name}_json" for name in rig.names})  # fmt: skip
    save_rig(Rig(rig.cameras, layout), work / "rig.yaml")
    parser = argparse.ArgumentParser()
    body_command.register(parser.add_subparsers())
    args = parser.parse_args(["body", "--rig", str(work / "rig.yaml"), "--layout", "body25b", "--out",
                              str(work / "run"), "--fit-iterations", str(iterations), "--force"])  # fmt: skip
    start = time.perf_counter()
    args.func(args)
    seconds = time.perf_counter() - start

    names, reference = read_trc_world(POSE2SIM / "pose2sim_triangulated_reference_0-100.trc")
    labels = get_layout("body25b").labels
    columns = [labels.index(name) for name in names]
    tracked, fitted = np.full((100, 21, 3), np.nan), np.full((100, 21, 3), np.nan)
    tracks_seen: dict[int, int] = {}
    frames = {}
    for t in range(100):
        _, people = read_body_frame(work / "run" / "body" / f"{t:06d}.json")
        frames[t] = people
        for person in people:
            tracks_seen[person.id] = tracks_seen.get(person.id, 0) + person.num_views
    subject = max(tracks_seen, key=tracks_seen.get)
    body = AnnyBody()
    for t, people in frames.items():
        for person in people:
            if person.id != subject:
                continue
            seen = person.confidence[columns] > 0
            tracked[t, seen] = person.keypoints[columns][seen]
            if person.params is not None:
                with torch.no_grad():
                    output = body(person.params.to(dtype=body.dtype))
                fitted[t] = body.layout_keypoints(output, "body25b")[0].double().numpy()[columns]
    distance = np.linalg.norm(tracked - reference, axis=-1) * 1000.0
    fitted_distance = np.linalg.norm(fitted - reference, axis=-1) * 1000.0
    rows = [f"| {name} | {np.nanmedian(distance[:, j]):.0f} | {np.mean(np.isfinite(distance[:, j])) * 100:.0f} | "
            f"{np.nanmedian(fitted_distance[:, j]):.0f} |" for j, name in enumerate(names)]  # fmt: skip
    summary = (f"all 21 markers: median {np.nanmedian(distance):.0f} mm triangulated (joints triangulated: "
               f"{np.mean(np.isfinite(distance)) * 100:.0f}%), {np.nanmedian(fitted_distance):.0f} mm fitted body; "
               f"{len(tracks_seen)} tracks (the subject and the bystander seen by cam01/cam02); `capture body` on "
               f"100 frames x 4 views took {seconds:.0f} s (association, tracking, fit of "
               f"{iterations} iterations, 4 overlays)")  # fmt: skip
    logger.info(summary)
    return rows + [summary]



def harder_rows(body, label: str, frames: int, iterations: int, fit_frames: int) -> list[str]:
    """Rows of the harder-detections table: each sequence of HARDER_CASES on each simulator mode; the fit runs on
    the first ``fit_frames`` frames (its speed scales with people x frames)."""
    rows = []
    config = SequenceFitConfig(fit=FitConfig(global_iterations=30, iterations=iterations))
    for category, people, views in HARDER_CASES:
        motion = make_motion(body, category, people, frames, seed=0)
        for mode in ("plain", "harder"):
            noise, failures = detector_mode(mode)
            capture = simulate_capture(body, motion.params, motion.present, ring_rig(views, **HARDER_RIG), noise=noise, seed=0,
                                       failures=failures)  # fmt: skip
            result = run_synthetic(body, capture, fit_config=config, fit_frames=fit_frames)
            m = result.metrics
            fit_fps = fit_frames / result.fit_seconds
            total = frames / (frames / result.association_fps + result.track_seconds + frames / fit_fps)
            rows.append(f"| {label} | {category} | {mode} | {people} x {views} x {frames} | {m.pcp:.1f} | "
                        f"{m.fitted_pcp:.1f} | {m.triangulated_mpjpe_mm:.1f} | {m.fitted_mpjpe_mm:.1f} | "
                        f"{m.id_switches} | {m.missed} | {m.false_people} | {m.num_tracks} | "
                        f"{result.association_fps:.0f} | {fit_fps:.1f} | {total:.1f} |")  # fmt: skip
            logger.info(rows[-1])
    return rows


def harder_section(rows: list[str], label: str, frames: int, iterations: int, fit_frames: int, load: float) -> str:
    """The harder-detections section: earlier labels' rows from docs/BENCHMARKS.md, then ``rows``."""
    from bench.benchmarks_doc import BENCHMARKS

    old = BENCHMARKS.read_text(encoding="utf-8").splitlines() if BENCHMARKS.exists() else []
    start = old.index(HARDER_HEADING) if HARDER_HEADING in old else len(old)
    end = next((i for i in range(start + 1, len(old)) if old[i].startswith("## ")), len(old))
    kept = [line for line in old[start:end] if line.startswith("| ") and not line.startswith(("| code", "| ---"))
            and line.split("|")[1].strip() != label]  # fmt: skip
    failures = ", ".join(f"{name} {getattr(HARDER, name)}" for name in HARDER.__dataclass_fields__)
    return "\n".join([
        HARDER_HEADING, "",
        f"Command: `.venv/bin/python bench/bench_body_capture.py --harder LABEL --frames {frames} --fit-iterations "
        f"{iterations} --fit-frames {fit_frames}` (one row per label; rows of other labels are kept from earlier runs); machine: 2-core CPU, "
        f"no GPU, shared with other jobs (load average {load:.1f} at the start of the '{label}' run); "
        f"date: {time.strftime('%Y-%m-%d')}.", "",
        "Sequences: `make_motion(category, 4 people, frames, seed=0)` (crossing: lanes of people walking past each "
        "other; close: a touching pair beside two others), `ring_rig(5, radius=5.0, fov_deg=60.0)` (512 x 512 px; every "
        "person in every view), detector simulator `plain` "
        "(`DetectorNoise()`, as in `## 4D body capture`) or `harder` (`HARDER_NOISE`: "
        f"{HARDER_NOISE.jitter_px:g} px jitter, {HARDER_NOISE.miss_rate:.0%} missed joints, "
        f"{HARDER_NOISE.outlier_rate:.0%} gross errors, {HARDER_NOISE.swap_rate:.0%} whole-body swaps, "
        f"{HARDER_NOISE.false_rate:g} false detections per view; `HARDER` failures: {failures}). "
        "PCP: Shelf/Campus definition (`multihuman_eval.body_capture`), percent, of the tracked (triangulated) "
        f"keypoints and of the fitted bodies' (fit on the first {fit_frames} frames only: PCP fitted and MPJPE "
        "fitted are over those frames). Speeds: association + triangulation frames/s (one thread), fit frames/s "
        f"(all tracks at once, 30 + {iterations} L-BFGS iterations, {fit_frames} frames), and the whole chain "
        "(association, tracking, fit at that speed) frames/s.", "",
        "| code | sequence | detector | people x views x frames | PCP tracked (%) | PCP fitted (%) | MPJPE "
        "triangulated (mm) | MPJPE fitted (mm) | id switches | missed person-frames | false person-frames | tracks | "
        "association fps | fit fps | total fps |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *kept, *rows, "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--fit-iterations", type=int, default=60)
    parser.add_argument("--skip-pose2sim", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print only, do not edit docs/BENCHMARKS.md")
    parser.add_argument("--harder", metavar="LABEL", help="run the harder-detections table, rows named LABEL")
    parser.add_argument("--fit-frames", type=int, help="--harder: fit the first N frames only (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    body = AnnyBody()
    if args.harder:
        load = os.getloadavg()[0]
        fit_frames = min(args.fit_frames or args.frames, args.frames)
        rows = harder_rows(body, args.harder, args.frames, args.fit_iterations, fit_frames)
        text = harder_section(rows, args.harder, args.frames, args.fit_iterations, fit_frames, load)
        print(text)
        if not args.no_write:
            write_section(HARDER_HEADING, text, after=HEADING)
        return
    fps, load = association_speed(body), os.getloadavg()[0]
    logger.info("association + triangulation, 4 people x 5 views: %.1f frames/s", fps)
    rows = synthetic_rows(body, args.frames, args.fit_iterations)
    lines = [
        HEADING, "",
        f"Command: `.venv/bin/python bench/bench_body_capture.py --frames {args.frames} --fit-iterations "
        f"{args.fit_iterations}`; machine: 2-core CPU, no GPU (shared with other jobs); date: 2026-11-21.", "",
        "Synthetic sequences: `synth.motion.make_motion` (seed 0) posing Anny, BODY_25 keypoints of Anny projected "
        "into `ring_rig(V)` (512 x 512, 45 deg) by the detector simulator with its default noise (`DetectorNoise()`: "
        "2 px jitter, 5% missed joints, 2% gross errors, 2% left/right swaps, 0.2 false detections per view, "
        "occlusion by nearer limbs). Baseline column: the same detections grouped by their *true* person (oracle "
        "association) and triangulated by plain weighted DLT, no outlier rejection.", "",
        "| sequence | people x views x frames | triangulated MPJPE (mm) | oracle + DLT MPJPE (mm) | fitted-body MPJPE "
        "(mm) | vertex error (mm) | fit (s) | id switches | missed person-frames | false person-frames | tracks | "
        "association fps |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows, "",
        f"Association + triangulation speed, 4 people x 5 views (30 frames of 'natural', one thread): "
        f"**{fps:.0f} frames/s** (goal >= 30), measured with a load average of {load:.1f} on the 2 cores (other "
        f"jobs), so an idle machine does better. The fit is L-BFGS over all people x frames at once "
        f"(30 + {args.fit_iterations} iterations); its times are as loaded.", "",
    ]  # fmt: skip
    if not args.skip_pose2sim and POSE2SIM.is_dir():
        with tempfile.TemporaryDirectory() as work:
            p2s = pose2sim_rows(args.fit_iterations, Path(work))
        lines += [
            "Real data, Pose2Sim demo (4 cameras, 100 frames, OpenPose BODY_25B, calibration "
            "`Calib_qualisys_converted.toml`), `capture body` end to end; distance per marker between the subject's "
            "triangulated keypoints and Pose2Sim's own triangulation (`pose2sim_triangulated_reference_0-100.trc`, "
            "a reference output, not ground truth), and between the fitted Anny body's keypoints and it:", "",
            "| marker | median distance, triangulated (mm) | frames triangulated (%) "
            "| median distance, fitted body (mm) |",
            "| --- | --- | --- | --- |", *p2s[:-1], "", p2s[-1] + ".", "",
        ]  # fmt: skip
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
