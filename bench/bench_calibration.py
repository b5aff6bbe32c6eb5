"""Benchmark of board calibration: a rendered 6-camera ring rig (accuracy against the truth, timings), the real
Pose2Sim checkerboard photos (intrinsics against that folder's reference solve), and real 4-webcam recordings of
an inverted ChArUco board from caliscope's test sessions (the whole rig against caliscope's own solve). Writes
`## Calibration` in docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_calibration.py [--caliscope DIR]

DIR holds caliscope's tests/sessions/<session>/ folders (camera_array.toml, calibration/extrinsic/cam_N.mp4),
extracted from the mprib/caliscope repository outside this one; without it that part is left out.
"""

from __future__ import annotations

import argparse
import glob
import itertools
import sys
import time
import tomllib
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "calibration")]

from bench.benchmarks_doc import write_section  # noqa: E402
from board_scene import make_board_capture  # noqa: E402

from calibration.board import detect_board, parse_board  # noqa: E402
from calibration.board_inputs import detect_sources, find_videos  # noqa: E402
from calibration.formats import import_rig  # noqa: E402
from calibration.intrinsics import calibrate_intrinsics  # noqa: E402
from calibration.rig_calibration import CalibrationOptions, calibrate_rig  # noqa: E402

POSE2SIM = ROOT / ".." / "shared" / "data" / "pose2sim_demo" / "calibration"
MACHINE, DATE = "2-core CPU, no GPU", time.strftime("%Y-%m-%d")
CALISCOPE_BOARD = "charuco:4x5:0.054:0.0405:DICT_4X4_1000"
CALISCOPE_SESSIONS = ("4_cam_recording", "charuco_calibration")
MODE_LABELS = {
    "prior": "prior (default)",
    "full": "prior, full lens model (--full-lens-model: the previous default)",
    "free": "free (--free-intrinsics)",
    "fixed": "fixed (--fixed-intrinsics)",
    "known": "caliscope's own (--intrinsics)",
}


def synthetic(board_text: str, cameras: int, poses: int, size: tuple[int, int]) -> list[str]:
    board = parse_board(board_text)
    start = time.perf_counter()
    capture = make_board_capture(board, cameras, poses, image_size=size, seed=1)
    rendered = time.perf_counter()
    detections = {
        c: {k: d for k, im in images.items() if (d := detect_board(im, board, f"{c}/{k}")) is not None}
        for c, images in capture.images.items()
    }
    detected = time.perf_counter()
    result = calibrate_rig(detections, board, CalibrationOptions(reference="cam00", world="camera"))
    solved = time.perf_counter()
    reference = capture.rig["cam00"]
    centre_mm = [1000 * np.linalg.norm(e.center - reference.world_to_camera(t.center)) for e, t in zip(result.rig, capture.rig)]
    focal_pct = [100 * np.abs(np.diag(e.K)[:2] / np.diag(t.K)[:2] - 1).max() for e, t in zip(result.rig, capture.rig)]
    views = sum(len(found) for found in detections.values())
    shown = sum(len(images) for images in capture.images.values())
    return [
        f"| {board_text} | {cameras} x {poses} poses, {size[0]}x{size[1]} | {views} of {shown} | "
        f"{max(r.rms_before for r in result.reports):.3f} | {max(r.rms_after for r in result.reports):.3f} | "
        f"{max(focal_pct):.3f} | {max(centre_mm):.2f} | {rendered - start:.1f} / {detected - rendered:.1f} / "
        f"{solved - detected:.1f} |"
    ]


def pose2sim() -> list[str]:
    board = parse_board("checkerboard:4x7:0.06")
    reference = tomllib.loads((POSE2SIM / "Calib_scene.toml").read_text())
    rows = []
    for camera in ("cam01", "cam02", "cam03", "cam04"):
        files = sorted(glob.glob(str(POSE2SIM / "intrinsics" / f"int_{camera}_img" / "*.jpg")))
        found = [d for f in files if (d := detect_board(cv2.imread(f), board, Path(f).name)) is not None]
        K_ref = np.array(reference[f"int_{camera}_img"]["matrix"])
        for label, factor in (("outliers dropped (default)", 3.0), ("no outlier test", 1e9)):
            result = calibrate_intrinsics(found, board, camera, outlier_factor=factor)
            fx, fy = result.K[0, 0], result.K[1, 1]
            rows.append(
                f"| {camera} | {label} | {fx:.1f} / {fy:.1f} | {K_ref[0, 0]:.1f} / {K_ref[1, 1]:.1f} | "
                f"{100 * (fx / K_ref[0, 0] - 1):+.2f} / {100 * (fy / K_ref[1, 1] - 1):+.2f} | {result.rms:.3f} | "
                f"{len(result.used)} of {len(files)} ({len(found)} found, {result.dropped_corners} corners dropped) |"
            )
    return rows


def _angle_deg(R: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0))))


def compare_rigs(estimate, reference) -> tuple[dict, dict]:
    """Per camera pair (relative rotation error in degrees, baseline ratio) and per camera (fx, fy error in %,
    principal point error in % of the image width / height) of `estimate` against `reference` (same names)."""
    pairs = {}
    for a, b in itertools.combinations(reference.names, 2):
        relative_est = estimate[b].R @ estimate[a].R.T
        relative_ref = reference[b].R @ reference[a].R.T
        baseline = np.linalg.norm(estimate[a].center - estimate[b].center)
        pairs[(a, b)] = (
            _angle_deg(relative_est @ relative_ref.T),
            baseline / np.linalg.norm(reference[a].center - reference[b].center),
        )
    cameras = {}
    for name in reference.names:
        E, R = estimate[name], reference[name]
        focal = 100 * (np.diag(E.K)[:2] / np.diag(R.K)[:2] - 1)
        centre = 100 * (E.K[:2, 2] - R.K[:2, 2]) / np.array([E.width, E.height])
        cameras[name] = (*focal, *centre)
    return pairs, cameras


def caliscope(folder: Path) -> list[str]:
    """The caliscope sessions' videos through detection and calibrate_rig in each intrinsics mode, against
    caliscope's camera_array.toml."""
    board = parse_board(CALISCOPE_BOARD)
    summary, details, references = [], [], {}
    for session in CALISCOPE_SESSIONS:
        videos = folder / session / "calibration" / "extrinsic"
        if not videos.is_dir():
            continue
        reference = references[session] = import_rig("caliscope", [folder / session / "camera_array.toml"])
        start = time.perf_counter()
        detections, searched = detect_sources(find_videos(videos, every=1, max_frames=1000), board)
        detected = time.perf_counter() - start
        mirrored = {c: sum(x.mirrored for x in d.values()) for c, d in detections.items()}
        found = ", ".join(
            f"{c} {len(d)}/{searched[c]}" + (f" ({mirrored[c]} mirrored)" if mirrored[c] else "")
            for c, d in detections.items()
        )
        summary.append(f"| {session} | board found (all inverted): {found}; detection {detected:.1f} s | | | | | | |")
        for mode in MODE_LABELS:
            start = time.perf_counter()
            options = CalibrationOptions(
                intrinsics={"known": "fixed", "full": "prior"}.get(mode, mode), full_lens_model=mode == "full"
            )
            result = calibrate_rig(detections, board, options, known=reference if mode == "known" else None)
            solved = time.perf_counter() - start
            pairs, cameras = compare_rigs(result.rig, reference)
            rotation = max(r for r, _ in pairs.values())
            baseline = max(abs(b - 1) for _, b in pairs.values())
            focal = max(max(abs(v[0]), abs(v[1])) for v in cameras.values())
            centre = max(max(abs(v[2]), abs(v[3])) for v in cameras.values())
            warned = sum(len(r.warnings) for r in result.reports)
            label = MODE_LABELS[mode]
            summary.append(
                f"| {session} | {label} | {rotation:.2f} | {100 * baseline:.1f} | {focal:.1f} | {centre:.1f} | "
                f"{np.mean([r.rms_after for r in result.reports]):.2f} | {solved:.1f} s, {warned} warnings |"
            )
            if mode == "prior":
                details += [f"| {session} | {a}-{b} | {r:.2f} | {v:.3f} | |" for (a, b), (r, v) in pairs.items()]
                details += [
                    f"| {session} | {name} | fx {v[0]:+.1f}%, fy {v[1]:+.1f}% | cx {v[2]:+.1f}%, cy {v[3]:+.1f}% "
                    f"| {models[name]} |"
                    for models in [{r.name: r.model for r in result.reports}]
                    for name, v in cameras.items()
                ]
    if not summary:
        return []
    repeat = []
    if len(references) == 2:
        first, second = references.values()
        _, between = compare_rigs(second, first)
        repeat = [
            "",
            "How far caliscope's two reference solves themselves differ for the cameras of the same name (the second",
            "session's against the first's; same % as above): "
            + "; ".join(f"{n} fx {v[0]:+.1f}%, fy {v[1]:+.1f}%, cx {v[2]:+.1f}%, cy {v[3]:+.1f}%" for n, v in between.items())
            + ".",
        ]
    return [
        "",
        "Real: caliscope's test sessions (mprib/caliscope tests/sessions, 4 webcams at 1280 x 720, a 4 x 5 ChArUco",
        f"board, DICT_4X4_1000, 54 mm squares, printed inverted in a glass frame), `--board {CALISCOPE_BOARD}`, every",
        "frame, default options but the intrinsics mode (and, in the `--full-lens-model` row, the full lens model for",
        "every camera, as before the model was chosen per camera: the baseline), against caliscope's own solve",
        "(`camera_array.toml`, whose intrinsics came from separate intrinsic recordings with k3 free). Maxima over",
        "the camera pairs / cameras.",
        "The last row of each session takes caliscope's intrinsics (`--intrinsics`, imported with `capture rig import",
        "--format caliscope`): it isolates the extrinsics, so the rest of the other rows' error comes from intrinsics",
        "solved from these recordings alone, where the board covers 9-23 % of each image.",
        "Command: `.venv/bin/python bench/bench_calibration.py --caliscope DIR`.",
        "",
        "| session | intrinsics | max rotation error (deg) | max baseline error (%) | max focal error (%) "
        "| max principal point error (% of image) | mean RMS after BA (px) | solve |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *summary,
        "",
        "Per pair and per camera, default options (intrinsics prior, lens model chosen per camera):",
        "",
        "| session | pair / camera | relative rotation error (deg) / focal | baseline ratio / principal point "
        "| lens model |",
        "| --- | --- | --- | --- | --- |",
        *details,
        *repeat,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--caliscope", type=Path, help="folder with caliscope's test sessions (see the docstring)")
    args = parser.parse_args()
    lines = [
        "## Calibration",
        "",
        f"Command: `.venv/bin/python bench/bench_calibration.py --caliscope DIR`; machine: {MACHINE}; date: {DATE};",
        "other jobs shared the CPU, so times are upper bounds.",
        "",
        "Synthetic: a jittered ring rig (60 degree lenses, k1 = -0.12, k2 = 0.05, small p1/p2) filming a board held at",
        "random poses, rendered with `render` (3x3 supersampled, blur 0.6 px, noise 1 grey level); world = camera",
        "cam00's frame; errors against the true cameras. 'RMS before BA' = per-camera intrinsics + pose-graph start.",
        "",
        "| board | rig | views detected | max RMS before BA (px) | max RMS after BA (px) | max focal error (%) "
        "| max centre error (mm) | render / detect / solve (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += synthetic("checkerboard:9x6:0.08", 4, 8, (640, 480))
    lines += synthetic("checkerboard:9x6:0.08", 6, 18, (800, 600))
    lines += synthetic("charuco:8x6:0.08:0.06:4x4_50", 6, 18, (800, 600))
    if POSE2SIM.is_dir():
        lines += [
            "",
            "Real: Pose2Sim checkerboard photos (1088 x 1920 portrait, 4 x 7 inner corners, 60 mm), intrinsics per camera",
            "(k3 fixed at 0 like the reference) against `Calib_scene.toml` [int_camNN_img] `matrix`.",
            "",
            "| camera | outlier handling | fx / fy found | fx / fy reference | difference (%) | RMS (px) | images used |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += pose2sim()
    if args.caliscope is not None:
        lines += caliscope(args.caliscope)
    section = "\n".join(lines) + "\n"
    print(section)
    write_section(lines[0], section)


if __name__ == "__main__":
    main()
