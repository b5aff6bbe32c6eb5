"""`capture train`: train the DeepMultiCap network on synthetic captures; checkpoints resume after interruption.
`capture export-weights`: a checkpoint's weights without optimizer state. Both check --out before working;
checkpoints are read without running code (implicit.training.read_checkpoint); one training per --out folder at a
time (capture.run_lock)."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from implicit.config import ABLATIONS, PRESETS

    parser = subparsers.add_parser("train", help="train the reconstruction network (coarse, then fine level)")
    parser.add_argument("--config", default="small", choices=sorted(PRESETS), help="size preset (default: small)")
    parser.add_argument("--ablation", default="none", choices=ABLATIONS, help="train an ablated variant")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", nargs="+", type=Path, metavar="DIR",
                        help="synthetic capture folders (with rig.yaml and gt/), or folders holding several")  # fmt: skip
    source.add_argument("--capsule-scene", action="store_true", help="train on a stand-in scene of capsules (smoke test)")
    parser.add_argument("--validation", nargs="+", type=Path, metavar="DIR", default=None,
                        help="held-out synthetic capture folders (or folders holding several): occupancy IoU and "
                             "Chamfer every validate_every steps")  # fmt: skip
    parser.add_argument("--validation-resolution", type=int, default=64, metavar="N",
                        help="grid samples along a person's longest side for the validation meshes (default: 64)")
    parser.add_argument("--out", required=True, type=Path, help="checkpoint folder (latest.pt, history.json, curves.png)")
    parser.add_argument("--steps", type=int, default=None, help="total steps to reach (default: the config's)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="torch device")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/latest.pt when it exists")
    parser.add_argument("--seed", type=int, default=0, help="data seed (augmentation and points)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.set_defaults(func=run_train)

    exporter = subparsers.add_parser(
        "export-weights", help="write a training checkpoint's weights without optimizer state (for implicit/weights/)"
    )
    exporter.add_argument("checkpoint", type=Path, help="a `capture train` checkpoint (OUT/latest.pt)")
    exporter.add_argument("--out", required=True, type=Path, help="weights file to write, e.g. implicit/weights/small.pt")
    exporter.set_defaults(func=run_export)


def _capture_samples(paths: list[Path], option: str) -> list:
    """Sample loaders of every capture folder in `paths` (folders with rig.yaml, or folders holding several);
    `option` names the command-line option in the error for a folder without any."""
    from capture.cli import UserFacingError
    from implicit.dataset import capture_samples

    folders = []
    for path in paths:
        if (path / "rig.yaml").is_file():
            folders.append(path)
        else:
            found = sorted(p.parent for p in path.glob("*/rig.yaml"))
            if not found:
                raise UserFacingError(f"{option} {path}: no rig.yaml in it or in its sub-folders")
            folders += found
    return [loader for folder in folders for loader in capture_samples(folder)]


def run_train(args: argparse.Namespace) -> int:
    import torch

    from capture.cli import UserFacingError, check_output_folder
    from capture.run_lock import RunLockedError, run_lock
    from implicit.config import preset, with_ablation
    from implicit.dataset import TrainingDataset
    from implicit.training import CheckpointError, train

    check_output_folder(args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UserFacingError("--device cuda: no CUDA device is available; use --device cpu")
    config = with_ablation(preset(args.config), args.ablation)
    if args.capsule_scene:
        from synth.capsules import capsule_scene

        samples = capsule_scene(people=2, views=4, size=max(128, config.inputs.crop_size))
        sources = [lambda sample=sample: sample for sample in samples]
    else:
        sources = _capture_samples(args.data, "--data")
    dataset = TrainingDataset(sources, config, seed=args.seed)
    validate = None
    if args.validation:
        from multihuman_eval.validation import validate as score

        validation = TrainingDataset(_capture_samples(args.validation, "--validation"), config, seed=args.seed + 1,
                                     augment=False)  # fmt: skip
        validate = functools.partial(score, dataset=validation, resolution=args.validation_resolution)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with run_lock(args.out, "capture train"):
            result = train(config, dataset, args.out, steps=args.steps, device=args.device, resume=args.resume,
                           validate=validate)  # fmt: skip
    except (CheckpointError, RunLockedError) as error:
        raise UserFacingError(str(error)) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"the checkpoints written so far are kept in {args.out}; continue with the same "
                                "command and --resume") from None  # fmt: skip
    last = result.history[-1] if result.history else {}
    validated = next((entry for entry in reversed(result.history) if "val_iou" in entry), None)
    scores = f"; validation IoU {validated['val_iou']:.3f}, Chamfer {validated['val_chamfer_cm']:.2f} cm" if validated else ""
    print(f"trained {config.name} to step {result.step}: loss {last.get('loss', float('nan')):.4f} "
          f"IoU {last.get('iou', float('nan')):.3f}{scores}; checkpoint {result.checkpoint}")  # fmt: skip
    return 0


def run_export(args: argparse.Namespace) -> int:
    from capture.cli import UserFacingError, check_output_file
    from implicit.training import CheckpointError, export_weights

    check_output_file(args.out)
    try:
        path = export_weights(args.checkpoint, args.out)
    except CheckpointError as error:
        raise UserFacingError(str(error)) from None
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
