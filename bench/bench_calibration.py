"""Benchmark of board calibration: a rendered 6-camera ring rig (accuracy against the truth, timings) and the real
Pose2Sim checkerboard photos (intrinsics against that folder's reference solve). Writes `## Calibration` in
docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_calibration.py
"""

from __future__ import annotations

import glob
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
from calibration.intrinsics import calibrate_intrinsics  # noqa: E402
from calibration.rig_calibration import CalibrationOptions, calibrate_rig  # noqa: E402

POSE2SIM = ROOT / ".." / "shared" / "data" / "pose2sim_demo" / "calibration"
MACHINE, DATE = "2-core CPU, no GPU", "2026-11-21"


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


def main() -> None:
    lines = [
        "## Calibration",
        "",
        f"Command: `.venv/bin/python bench/bench_calibration.py`; machine: {MACHINE}; date: {DATE}.",
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
    section = "\n".join(lines) + "\n"
    print(section)
    write_section(lines[0], section)


if __name__ == "__main__":
    main()
