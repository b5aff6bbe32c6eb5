"""`capture keypoints` + `capture body` on the real Pose2Sim videos with no keypoint files given, against the
.trc reference; baseline: the shipped OpenPose BODY_25B JSON through the same `capture body`.

Run: .venv/bin/python bench/bench_keypoints_pose2sim.py [--work DIR] [--fit] [--tile-size PX] [--no-write]
Needs mediapipe 0.10.14 and ../shared/data/pose2sim_demo. Builds a capture folder outside the repository (a
temporary one unless --work: rig.yaml imported from Calib_qualisys_converted.toml, capture.videos linked to
the shared videos), runs both commands, and compares the subject's triangulated skeleton (RUN/body/*.json,
joints with confidence > 0) with Pose2Sim's own triangulation, marker by marker (trc (X, Y, Z) = world
(y, z, x)). Rewrites the section "## 2D keypoint detection, Pose2Sim videos to 3D" of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_body_capture import read_trc_world  # noqa: E402
from bench.bench_keypoints import SECTION as AFTER  # noqa: E402
from bench.benchmarks_doc import BENCHMARKS, write_section  # noqa: E402
from body.capture_io import read_body_frame  # noqa: E402
from body.keypoint_layouts import get_layout  # noqa: E402
from calibration.formats import import_rig  # noqa: E402
from calibration.rig import CaptureLayout, Rig  # noqa: E402
from calibration.rig_file import save_rig  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "pose2sim_demo"
TRC = DATA / "pose2sim_triangulated_reference_0-100.trc"
SECTION = "## 2D keypoint detection, Pose2Sim videos to 3D"
DATE = "2026-12-07"
MACHINE = "2-core CPU, no GPU"
FRAMES = 100


def make_capture(work: Path) -> Path:
    """rig.yaml of the Pose2Sim cameras whose capture reads the shared videos (linked, not copied)."""
    rig = import_rig("anipose", [DATA / "calibration" / "Calib_qualisys_converted.toml"])
    videos = work / "videos"
    if not videos.exists():
        videos.symlink_to(DATA / "videos")
    path = work / "rig.yaml"
    save_rig(Rig(rig.cameras, CaptureLayout(videos=videos)), path)
    return path


def run_command(argv: list[str]) -> float:
    """Run one `capture` subcommand in-process; its wall time in seconds."""
    from capture.cli import build_parser

    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    if args.func(args) != 0:
        raise RuntimeError(f"capture {' '.join(argv)} failed")
    return time.perf_counter() - start


def subject_skeleton(run: Path, layout: str, names: list[str]) -> np.ndarray:
    """(FRAMES, markers, 3) triangulated joints of the most-seen track (NaN where not triangulated or where
    the layout lacks the marker)."""
    labels = get_layout(layout).labels
    frames = [read_body_frame(run / "body" / f"{t:06d}.json")[1] for t in range(FRAMES)]
    seen: dict[int, int] = {}
    for people in frames:
        for person in people:
            seen[person.id] = seen.get(person.id, 0) + person.num_views
    subject = max(seen, key=seen.get)
    skeleton = np.full((FRAMES, len(names), 3), np.nan)
    for t, people in enumerate(frames):
        for person in people:
            if person.id != subject:
                continue
            for m, name in enumerate(names):
                if name in labels and person.confidence[labels.index(name)] > 0:
                    skeleton[t, m] = person.keypoints[labels.index(name)]
    return skeleton


def distances_mm(skeleton: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(FRAMES, markers) distance to the reference in mm, NaN where not triangulated."""
    return 1000.0 * np.linalg.norm(skeleton - reference, axis=-1)


def section_text(ours: np.ndarray, baseline: np.ndarray, names: list[str], common: list[int], info: dict) -> str:
    fit = "" if info["fit"] else " --no-fit"
    tiles = f" --tile-size {info['tile_size']}" if info["tile_size"] is not None else ""
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/bench_keypoints_pose2sim.py{' --fit' if info['fit'] else ''}"
        f"{tiles}` ({MACHINE}, {DATE}; mediapipe 0.10.14). It makes a capture folder outside the repository",
        "(`capture rig import --format anipose Calib_qualisys_converted.toml`, `capture.videos` linked to the",
        "shared `videos/`, no keypoint files) and runs, for all 100 frames x 4 views:",
        "",
        f"    capture keypoints --rig rig.yaml --out RUN{tiles}",
        f"    capture body --rig rig.yaml --keypoints RUN/keypoints --layout body25 --out RUN{fit}",
        "",
        "Baseline in the same run: the OpenPose BODY_25B JSON shipped with the data through the same `capture body`",
        f"(`--keypoints pose_openpose_json_BODY25B --layout body25b{fit}`, camera folders `camNN_json`).",
        "Reference: Pose2Sim's own triangulation (`pose2sim_triangulated_reference_0-100.trc`, from the OpenPose",
        "JSON; a reference output, not ground truth). Distance per marker between the subject's triangulated",
        "joints (the most-seen track, joints with confidence > 0) and the .trc marker, median over frames.",
        "BlazePose's BODY_25 has no head top (`Head`) and no small toes, and its `Neck` is the shoulders' midpoint",
        "(BODY_25B's is the upper neck), so the overall medians are over the markers both layouts have.",
        "",
        "| marker | BlazePose: median (mm) | BlazePose: frames (%) | OpenPose baseline: median (mm) "
        "| OpenPose baseline: frames (%) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for m, name in enumerate(names):
        lines.append(f"| {name}{'' if m in common else ' (not compared)'} | {_median(ours[:, m])} | "
                     f"{_share(ours[:, m])} | {_median(baseline[:, m])} | {_share(baseline[:, m])} |")  # fmt: skip
    common_names = ", ".join(names[m] for m in common)
    lines += [
        f"| **median over the {len(common)} common markers** | **{_median(ours[:, common])}** | "
        f"{_share(ours[:, common])} | **{_median(baseline[:, common])}** | {_share(baseline[:, common])} |",
        f"| median over all {len(names)} markers | - | - | {_median(baseline)} | {_share(baseline)} |",
        "",
        f"Common markers: {common_names}. Tracks: BlazePose {info['tracks_ours']}, OpenPose "
        f"{info['tracks_baseline']} (the bystander seen by cam01/cam02 is found by OpenPose; BlazePose, with the",
        "stage's tiles, finds him in at most one view at a time (2026-12-07: 2 of 200 cam01/cam02 images), so there is",
        "nobody to re-detect, see `## 2D keypoint detection`). Wall times: `capture keypoints` "
        f"{info['keypoints_s']:.0f} s for 400 images ({1000 * info['keypoints_s'] / 400:.0f} ms / image incl. decoding"
        f" and writing), `capture body` {info['body_s']:.0f} s (BlazePose) and {info['baseline_s']:.0f} s (OpenPose)"
        f"{' with the body fit' if info['fit'] else ', no fit'}; CPU shared with other jobs.",
        "",
    ]
    return "\n".join(lines)


def _median(values: np.ndarray) -> str:
    return f"{np.nanmedian(values):.0f}" if np.isfinite(values).any() else "-"


def _share(values: np.ndarray) -> str:
    return f"{100 * np.mean(np.isfinite(values)):.0f}"


def run(work: Path, fit: bool, tile_size: int | None) -> str:
    rig = make_capture(work)
    run_dir, baseline_dir = work / "run", work / "baseline"
    fit_args = [] if fit else ["--no-fit"]
    tiles = ["--tile-size", str(tile_size)] if tile_size is not None else []
    keypoints_s = run_command(["keypoints", "--rig", str(rig), "--out", str(run_dir), *tiles, "--force"])
    body_s = run_command(["body", "--rig", str(rig), "--keypoints", str(run_dir / "keypoints"), "--layout", "body25",
                          "--out", str(run_dir), "--force", *fit_args])  # fmt: skip
    openpose = work / "openpose"  # the shipped JSON folders are camNN_json: link them under the camera names
    openpose.mkdir(exist_ok=True)
    for camera in ("cam01", "cam02", "cam03", "cam04"):
        link = openpose / camera
        if not link.exists():
            link.symlink_to(DATA / "pose_openpose_json_BODY25B" / f"{camera}_json")
    baseline_s = run_command(["body", "--rig", str(rig), "--keypoints", str(openpose), "--layout", "body25b",
                              "--out", str(baseline_dir), "--force", *fit_args])  # fmt: skip
    names, reference = read_trc_world(TRC)
    ours = distances_mm(subject_skeleton(run_dir, "body25", names), reference)
    baseline = distances_mm(subject_skeleton(baseline_dir, "body25b", names), reference)
    labels = get_layout("body25").labels
    common = [m for m, name in enumerate(names) if name in labels and name != "Neck" and "SmallToe" not in name]
    info = {
        "fit": fit, "tile_size": tile_size, "keypoints_s": keypoints_s, "body_s": body_s, "baseline_s": baseline_s,
        "tracks_ours": _tracks(run_dir), "tracks_baseline": _tracks(baseline_dir),
    }  # fmt: skip
    return section_text(ours, baseline, names, common, info)


def _tracks(run_dir: Path) -> int:
    return len({p.id for t in range(FRAMES) for p in read_body_frame(run_dir / "body" / f"{t:06d}.json")[1]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="capture folder to use/keep (default: a temporary one)")
    parser.add_argument("--fit", action="store_true", help="also fit the body model (slower; same skeleton)")
    parser.add_argument("--tile-size", type=int, default=None, help="capture keypoints --tile-size (default: its own)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not DATA.is_dir():
        print(f"real data not found at {DATA}", file=sys.stderr)
        return 1
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        text = run(args.work.resolve(), args.fit, args.tile_size)
    else:
        with tempfile.TemporaryDirectory() as work:
            text = run(Path(work), args.fit, args.tile_size)
    print(text)
    if not args.no_write:
        write_section(SECTION, text, after=AFTER)
        print(f"updated {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
