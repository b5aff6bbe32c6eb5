"""`capture fuse`: temporal SDF fusion of each person's per-frame meshes over a sliding window of frames.

Reads ``RUN/meshes/<frame:06d>/person_<id>.ply`` and ``RUN/body/<frame:06d>.json``; writes
``RUN/fused/<frame:06d>/person_<id>.ply``. Person-frames already fused are skipped unless ``--force``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fuse", help="temporal fusion: average each person's warped signed distance fields over a window of frames"
    )
    parser.add_argument("--run", required=True, type=Path, help="run folder with meshes/ and body/; writes RUN/fused/")
    parser.add_argument("--window", type=int, default=3, help="frames per window, odd (default: 3, as the paper)")
    parser.add_argument("--voxel-size", type=float, default=None,
                        help="grid spacing in metres (default: each frame's per-frame mesh's, as `capture reconstruct` "
                        "recorded it next to the mesh)")  # fmt: skip
    parser.add_argument(
        "--truncation", type=float, default=3.0, help="signed distances are clamped to this many voxels (default: 3)"
    )
    parser.add_argument(
        "--interpolated-weight", type=float, default=1.0,
        help="weight of frames whose body was interpolated (person not detected); 0 leaves them out (default: 1)",
    )  # fmt: skip
    parser.add_argument("--body-model-dir", default=None, help="SMPL-X model folder (or $MULTICAP_SMPLX_DIR)")
    parser.add_argument("--force", action="store_true", help="redo person-frames whose fused mesh already exists")
    parser.set_defaults(func=run_fuse)


def config_from_args(args: argparse.Namespace):
    """The FusionConfig of the parsed options (FusionError for values it refuses)."""
    from fusion import FusionConfig

    return FusionConfig(window=args.window, voxel_size_m=args.voxel_size, truncation_voxels=args.truncation)


def run_fuse(args: argparse.Namespace) -> int:
    from body.errors import BodyModelError
    from capture.cli import UserFacingError, check_output_folder
    from fusion import FusionError
    from fusion.stage import fuse_run

    check_output_folder(args.run, "--run")
    try:
        summary = fuse_run(args.run, config_from_args(args), force=args.force, model_dir=args.body_model_dir,
                           interpolated_weight=args.interpolated_weight)  # fmt: skip
    except (FusionError, BodyModelError) as error:
        raise UserFacingError(str(error)) from error
    print(
        f"fused {summary.fused} person-frames, copied {summary.copied} without a body, "
        f"skipped {summary.skipped} already done ({summary.seconds:.1f} s) -> {args.run / 'fused'}"
    )
    return 0
