"""`capture calibrate`: calibrate a rig from checkerboard / ChArUco images or videos; writes rig.yaml and a top view.

Guide: docs/calibration.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="calibrate cameras (intrinsics + extrinsics) from checkerboard or ChArUco images/videos",
        description="Calibrate every camera and the rig from views of a calibration board; see docs/calibration.md.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, help="folder with one sub-folder per camera (or files <camera>_<frame>.jpg)")
    source.add_argument("--videos", type=Path, help="folder with one video per camera (<camera>.mp4), synchronised")
    parser.add_argument(
        "--board",
        required=True,
        help="checkerboard:COLSxROWS:SQUARE_M (inner corners, e.g. checkerboard:9x6:0.04) or "
        "charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT (squares, e.g. charuco:7x5:0.08:0.06:4x4_50)",
    )
    parser.add_argument(
        "--board-polarity",
        choices=("auto", "normal", "inverted"),
        default="auto",
        help="board printed black on white (normal), white on black (inverted), or auto: try both per camera, "
        "remembering what worked (default)",
    )
    parser.add_argument("--out", required=True, type=Path, help="rig.yaml to write (a top-view PNG is written beside it)")
    parser.add_argument("--every", type=int, default=10, help="videos: use every N-th frame (default 10)")
    parser.add_argument("--max-frames", type=int, default=100, help="videos: at most this many frames per camera")
    parser.add_argument("--reference", default=None, help="reference camera (default: the first by name)")
    parser.add_argument(
        "--world",
        choices=("board", "floor", "camera"),
        default="board",
        help="world frame: the board's frame at --world-frame (default), the floor the board lies on at "
        "--world-frame (z up), or the reference camera's frame",
    )
    parser.add_argument(
        "--world-frame", default=None, help="frame key of the board pose for --world (default: first seen by the reference)"
    )
    intrinsics = parser.add_mutually_exclusive_group()
    intrinsics.add_argument(
        "--fixed-intrinsics", action="store_true", help="keep each camera's own intrinsics in the bundle adjustment"
    )
    intrinsics.add_argument(
        "--free-intrinsics",
        action="store_true",
        help="refine intrinsics without pulling them toward each camera's own solve (default: pulled as far as its "
        "views constrained them; free only suits views that fill every image)",
    )
    parser.add_argument(
        "--intrinsics",
        type=Path,
        default=None,
        metavar="RIG",
        help="rig.yaml whose cameras' intrinsics are known (e.g. from dedicated intrinsic recordings; other formats: "
        "capture rig import first): those cameras keep them, fixed; the others are calibrated from their views",
    )
    parser.add_argument(
        "--full-lens-model",
        action="store_true",
        help="solve every camera's principal point and tangential distortion from its own views however uncertain "
        "they leave them (default: p1 = p2 = 0, and if need be the principal point at the image centre, where the "
        "views leave the principal point uncertain; the report says which model each camera got)",
    )
    parser.add_argument("--k3", action="store_true", help="also estimate the k3 distortion term (wide-angle lenses)")
    parser.add_argument("--force", action="store_true", help="detect the board again even if saved detections match")
    parser.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from calibration.atomic import write_png
    from calibration.board import parse_board
    from calibration.board_cache import load_detections, save_detections
    from calibration.board_inputs import describe_polarity, detect_sources, find_image_sets, find_videos
    from calibration.rig_calibration import CalibrationOptions, calibrate_rig, format_report
    from calibration.errors import RigError
    from calibration.rig_file import keep_capture, load_rig, save_rig
    from calibration.rig_summary import draw_top_view, summarize_rig

    board = parse_board(args.board)
    if args.images is not None:
        sources = find_image_sets(args.images)
        inputs = {s.camera: sorted(str(p) for p in s.files.values()) for s in sources}
    else:
        sources = find_videos(args.videos, args.every, args.max_frames)
        inputs = {s.camera: [str(s.path.resolve()), s.every, s.max_frames] for s in sources}
    print(f"{board.describe()}; {len(sources)} cameras:")
    for source in sources:
        if args.images is not None:
            key = min(source.files)
            what = f"{len(source.files)} images (e.g. {source.files[key].name}: frame {key})"
        else:
            what = source.path.name
        print(f"  {source.camera}: {what}")
    cache = args.out.with_name(f"{args.out.stem}_detections.json")
    signature = {"board": args.board, "polarity": args.board_polarity, "inputs": inputs}
    saved = None if args.force else load_detections(cache, signature)
    if saved is not None:
        detections, searched = saved
        print(f"using the board detections saved in {cache} (--force to detect again)")
    else:
        detections, searched = detect_sources(
            sources,
            board,
            lambda camera, found, count: print(
                f"camera {camera}: board found in {len(found)} of {count} frames, printed {describe_polarity(found)}"
            ),
            polarity=args.board_polarity,
        )
        save_detections(cache, signature, detections, searched)
    options = CalibrationOptions(
        reference=args.reference,
        world=args.world,
        world_frame=args.world_frame,
        intrinsics="fixed" if args.fixed_intrinsics else "free" if args.free_intrinsics else "prior",
        fix_k3=not args.k3,
        full_lens_model=args.full_lens_model,
    )
    known = None
    if args.intrinsics is not None:
        known = load_rig(args.intrinsics, check_paths=False)
        given = [name for name in detections if name in known.names]
        missing = [name for name in detections if name not in known.names]
        if not given:
            raise RigError(
                f"expected cameras named like the calibration's ({', '.join(detections)}), found only "
                f"{', '.join(known.names)}",
                file=args.intrinsics,
                field="cameras",
            )
        print(
            f"intrinsics of {', '.join(given)} from {args.intrinsics} (kept fixed)"
            + (f"; calibrated from their views: {', '.join(missing)}" if missing else "")
        )
    print("calibrating: intrinsics per camera, pose graph, bundle adjustment ...")
    result = calibrate_rig(detections, board, options, searched, known)
    print(format_report(result))
    rms = ", ".join(f"{r.name} {r.rms_after:.3f}" for r in result.reports)
    rig, kept = keep_capture(result.rig, args.out)  # recalibrating a rig keeps where its capture's data is
    if rig.layout is not None:
        print(kept)
    save_rig(rig, args.out, header=f"calibrated with {board.describe()}\nRMS reprojection error (px): {rms}\n{result.world}")
    png = args.out.with_name(f"{args.out.stem}_top.png")
    up = -sum(camera.R[1] for camera in result.rig)  # cameras are mostly mounted upright: image up ~ world up
    write_png(png, draw_top_view(result.rig, summarize_rig(result.rig), up_axis=int(abs(up).argmax())))
    print(f"wrote {args.out}, {png} and {cache}")
    return 0
