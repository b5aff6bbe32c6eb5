"""`capture rig import | export | check`: convert calibration files to and from rig.yaml, and inspect a rig."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rig", help="import, export and check rig (camera calibration) files")
    actions = parser.add_subparsers(title="actions", dest="rig_action", metavar="ACTION", required=True)

    from calibration.formats import FORMATS

    importer = actions.add_parser(
        "import",
        help="convert EasyMocap / Panoptic / Anipose / caliscope / ZJU-MoCap / DeepMultiCap calibration to rig.yaml",
    )
    importer.add_argument("--format", required=True, choices=FORMATS, help="format of the source files")
    importer.add_argument(
        "sources", nargs="+", type=Path, help="source file(s): intri.yml extri.yml | json | toml | npy | folder"
    )
    importer.add_argument("--out", required=True, type=Path, help="rig.yaml to write")
    importer.add_argument(
        "--force",
        action="store_true",
        help="replace the cameras of an existing --out file (its capture: section is kept)",
    )
    importer.add_argument("--camera-type", default="hd", help="Panoptic camera type to keep (hd, vga, kinect-color)")
    importer.add_argument(
        "--allow-pickle", action="store_true", help="allow reading ZJU-MoCap annots.npy (a pickle: trusted files only)"
    )
    importer.add_argument(
        "--image-size",
        nargs=2,
        type=int,
        metavar=("WIDTH", "HEIGHT"),
        help="image size for formats that may lack it (EasyMocap without H_/W_, ZJU-MoCap, DeepMultiCap; "
        "default 1024 1024 for ZJU, 512 512 for DeepMultiCap)",
    )
    importer.set_defaults(func=run_import)

    exporter = actions.add_parser("export", help="write a rig.yaml in another tool's format")
    exporter.add_argument("--format", required=True, choices=("easymocap",), help="target format")
    exporter.add_argument("rig", type=Path, help="rig.yaml to read")
    exporter.add_argument("--out", required=True, type=Path, help="output folder")
    exporter.set_defaults(func=run_export)

    checker = actions.add_parser("check", help="print cameras, baselines and coverage; write a top-view PNG")
    checker.add_argument("rig", type=Path, help="rig.yaml to check")
    checker.add_argument("--png", type=Path, default=None, help="top-view image to write (default: <rig>_top.png)")
    checker.set_defaults(func=run_check)


def run_import(args: argparse.Namespace) -> int:
    from calibration.errors import RigError
    from calibration.formats import import_rig
    from calibration.rig_file import keep_capture, save_rig

    if args.out.exists() and not args.force:
        raise RigError(
            "the output file exists; use --force to replace its cameras (its capture: section is kept)", file=args.out
        )
    rig = import_rig(
        args.format,
        args.sources,
        camera_type=args.camera_type,
        allow_pickle=args.allow_pickle,
        image_size=tuple(args.image_size) if args.image_size else None,
    )
    sources = " ".join(str(path) for path in args.sources)
    rig, kept = keep_capture(rig, args.out)
    save_rig(rig, args.out, header=f"imported from {args.format}: {sources}")
    print(f"wrote {args.out} with {len(rig)} cameras: {', '.join(rig.names)}" + (f"; {kept}" if kept else ""))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from calibration.formats import export_rig
    from calibration.rig_file import load_rig

    rig = load_rig(args.rig, check_paths=False)
    written = export_rig(args.format, rig, args.out)
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def run_check(args: argparse.Namespace) -> int:
    from calibration.atomic import write_png
    from calibration.rig_file import load_rig
    from calibration.rig_summary import draw_top_view, format_rig_report, summarize_rig

    rig = load_rig(args.rig, check_paths=False)
    summary = summarize_rig(rig)
    print(format_rig_report(rig, summary))
    png = args.png or args.rig.with_name(f"{args.rig.stem}_top.png")
    write_png(png, draw_top_view(rig, summary))
    print(f"top view: {png}")
    return 0
