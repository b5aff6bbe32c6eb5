"""`capture synth` (one synthetic capture) and `capture synth-bench` (the 5 MultiHuman-style categories)."""

from __future__ import annotations

import argparse
from pathlib import Path

BENCH_CATEGORIES = {
    "single": ("single", 1),
    "occluded_single": ("occluded_single", 1),
    "two_natural": ("natural", 2),
    "two_close": ("close", 2),
    "three": ("natural", 3),
}
"""MultiHuman benchmark category -> (scene category, number of people)."""

CAPTURE_ENTRIES = ("rig.yaml", "images", "masks", "keypoints", "gt")
"""What synth.capture_writer.write_capture writes into a capture folder (all that --force replaces)."""

IMAGE_SIDE_PX = (16, 4096)
"""Accepted image width and height, pixels: a 4096 x 4096 view already needs ~1 GB of render buffers."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from synth.scene import SCENE_CATEGORIES

    parser = subparsers.add_parser("synth", help="render a synthetic capture of clothed people with ground truth")
    parser.add_argument("--out", required=True, type=Path, help="capture folder to write")
    parser.add_argument("--category", default="natural", choices=SCENE_CATEGORIES, help="kind of scene")
    parser.add_argument("--people", type=int, default=2, help="number of people")
    parser.add_argument("--views", type=int, default=6, help="cameras of the default ring rig")
    parser.add_argument("--frames", type=int, default=1, help="frames (30 fps); 1 = a static scene")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same capture)")
    parser.add_argument("--rig", type=Path, default=None, help="use the cameras of this rig.yaml instead of a ring")
    parser.add_argument("--size", type=int, default=512, help="image width and height of the ring rig, pixels")
    parser.add_argument("--voxel", type=float, default=0.01, help="voxel size of the clothed-mesh build, metres")
    parser.add_argument("--force", action="store_true",
                        help="replace a capture already in --out (only what synth writes: " + ", ".join(CAPTURE_ENTRIES) + ")")  # fmt: skip
    parser.set_defaults(func=run_synth)

    bench = subparsers.add_parser("synth-bench", help="write the 5 MultiHuman-style benchmark categories")
    bench.add_argument("--out", required=True, type=Path, help="benchmark folder to write")
    bench.add_argument("--scenes-per-category", type=int, default=5, help="scenes per category")
    bench.add_argument("--views", type=int, default=6, help="cameras per scene")
    bench.add_argument("--size", type=int, default=512, help="image width and height, pixels")
    bench.add_argument("--seed", type=int, default=1000, help="seed of the first scene")
    bench.add_argument("--force", action="store_true", help="delete a benchmark already in --out first (only its "
                       "category folders and manifest.json)")  # fmt: skip
    bench.set_defaults(func=run_bench)


def _people_for(category: str, people: int) -> int:
    return 1 if category in ("single", "occluded_single") else people


def _check_image_sizes(size: int, rig) -> None:
    """--size, or the sizes of the --rig's cameras, inside IMAGE_SIDE_PX; UserFacingError naming the field."""
    from capture.cli import UserFacingError

    low, high = IMAGE_SIDE_PX
    if rig is None:
        if not low <= size <= high:
            raise UserFacingError(f"--size: expected an image side of {low}-{high} pixels, got {size}")
        return
    for camera in rig:
        if not (low <= camera.width <= high and low <= camera.height <= high):
            raise UserFacingError(f"{rig.source}: camera {camera.name!r}: fields 'width', 'height': expected {low}-{high} "
                                  f"pixels for synthesis, got {camera.width}x{camera.height}")  # fmt: skip


def write_capture_staged(scene, out: Path) -> Path:
    """Render `scene` into a hidden folder beside `out`, then move it in, replacing only CAPTURE_ENTRIES of an
    earlier capture: a failure (even MemoryError or Ctrl-C) leaves `out` as it was. Returns the rig.yaml path."""
    import shutil
    import tempfile

    from synth.capture_writer import write_capture

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        write_capture(scene, staging)
        written = sorted(entry.name for entry in staging.iterdir())
        out.mkdir(exist_ok=True)
        _remove(out, sorted(set(CAPTURE_ENTRIES) | set(written)))
        for name in written:
            (staging / name).rename(out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "rig.yaml"


def _remove(folder: Path, names) -> None:
    """Delete folder/<name> (file or tree) for each of `names` that exists."""
    import shutil

    for name in names:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def run_synth(args: argparse.Namespace) -> int:
    from body.anny_body import AnnyBody
    from calibration.rig_file import load_rig
    from capture.cli import UserFacingError
    from capture.commands import check_output_dir
    from synth.motion import MotionError
    from synth.scene import SceneError, make_scene

    check_output_dir(args.out, args.force, "capture synth")
    rig = load_rig(args.rig, check_paths=False) if args.rig is not None else None
    _check_image_sizes(args.size, rig)
    try:
        scene = make_scene(AnnyBody(), args.category, _people_for(args.category, args.people), args.frames, args.seed,
                           rig=rig, num_views=args.views, image_size=args.size, fps=args.fps, voxel_size=args.voxel)  # fmt: skip
        path = write_capture_staged(scene, args.out)
    except (MotionError, SceneError) as error:
        raise UserFacingError(str(error)) from None
    except MemoryError:
        raise UserFacingError(f"--out {args.out}: out of memory while synthesising; nothing was written: use fewer or "
                              "smaller views (--views, --size) or fewer --frames") from None  # fmt: skip
    print(f"wrote {args.out}: {len(scene.rig)} views, {args.frames} frame(s), {len(scene.people)} people; rig {path}")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    import json

    from body.anny_body import AnnyBody
    from calibration.atomic import atomic_write_text
    from capture.commands import check_output_dir
    from synth.scene import make_scene

    check_output_dir(args.out, args.force, "capture synth-bench")
    _check_image_sizes(args.size, None)
    if args.out.is_dir():
        _remove(args.out, [*BENCH_CATEGORIES, "manifest.json"])
    body = AnnyBody()
    scenes = []
    for c_index, (name, (category, people)) in enumerate(BENCH_CATEGORIES.items()):
        for k in range(args.scenes_per_category):
            seed = args.seed + 100 * c_index + k
            folder = Path(name) / f"{k:03d}"
            scene = make_scene(body, category, people, 1, seed, num_views=args.views, image_size=args.size)
            write_capture_staged(scene, args.out / folder)
            scenes.append({"category": name, "scene_category": category, "people": people, "seed": seed,
                           "path": str(folder), "rig": str(folder / "rig.yaml")})  # fmt: skip
            print(f"{name} {k + 1}/{args.scenes_per_category}: {args.out / folder}")
    manifest = {"format": "multicap.synthetic_benchmark", "version": 1, "categories": list(BENCH_CATEGORIES),
                "views": args.views, "image_size": args.size, "scenes": scenes}  # fmt: skip
    atomic_write_text(args.out / "manifest.json", json.dumps(manifest, indent=1))
    print(f"wrote {args.out / 'manifest.json'} ({len(scenes)} scenes)")
    return 0
