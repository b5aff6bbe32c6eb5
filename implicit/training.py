"""Training loop: two stages (coarse level + normal network, then the fine level with them frozen), Adam with a
cosine learning-rate decay per stage, periodic logging of loss / IoU, validation on held-out people, atomic
checkpoints with a curves PNG, resume from the latest one.

    result = train(config, dataset, out_dir, device="cpu", resume=True)
    model = load_model(out_dir / CHECKPOINT_NAME)

Determinism: step s trains on sample `index(s)` with augmentation and points drawn from (data seed, index, s),
so an interrupted run that resumes sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from calibration.atomic import atomic_path, atomic_write_text
from calibration.progress import ProgressLog
from implicit.config import Config
from implicit.dataset import TrainingDataset, TrainingExample
from implicit.features import project_to_crops
from implicit.losses import normal_loss, occupancy_iou, occupancy_loss
from implicit.model import DeepMultiCap
from implicit.training_curves import plot_training_curves

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "latest.pt"
"""File name of the latest checkpoint inside the output folder."""
Stage = Literal["coarse", "fine"]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and what is wrong."""


def stage_at(config: Config, step: int) -> Stage:
    """The stage trained at (0-based) `step`: 'coarse' for the first coarse_steps, then 'fine' (if enabled)."""
    return "fine" if config.fine.enabled and step >= config.train.coarse_steps else "coarse"


def total_steps(config: Config) -> int:
    """coarse_steps + fine_steps (fine_steps only when the fine level exists)."""
    return config.train.coarse_steps + (config.train.fine_steps if config.fine.enabled else 0)


def learning_rate_at(config: Config, step: int) -> float:
    """Adam's learning rate at (0-based) `step`: cosine from learning_rate at the start of the step's stage down to
    learning_rate * final_learning_rate_fraction at the stage's last step."""
    t = config.train
    if stage_at(config, step) == "coarse":
        start, length = 0, t.coarse_steps
    else:
        start, length = t.coarse_steps, t.fine_steps
    progress = min(max(step - start, 0) / max(length - 1, 1), 1.0)
    low = t.learning_rate * t.final_learning_rate_fraction
    return float(low + 0.5 * (t.learning_rate - low) * (1.0 + np.cos(np.pi * progress)))


def training_step(model: DeepMultiCap, example: TrainingExample, stage: Stage, normal_weight: float) -> dict[str, float | torch.Tensor]:
    """Forward pass and loss of one step. Returns {'loss': tensor, 'occupancy': float, 'normals': float, 'iou': float}.

    'coarse': occupancy BCE of the coarse level + normal_weight * normal loss (when the fine level exists).
    'fine': the coarse level and normal network run without gradients; occupancy BCE of the fine level.
    """
    inputs, points = example.inputs, example.points
    projection = project_to_crops(inputs, points)
    if stage == "coarse":
        logits, _ = model.coarse.query(model.coarse.encode(inputs), inputs, points, projection)
        occupancy = occupancy_loss(logits, example.occupancy)
        loss, normals = occupancy, torch.zeros(())
        if model.fine is not None:
            normals = normal_loss(model.fine.predict_normals(inputs), example.normals, example.normal_mask)
            loss = loss + normal_weight * normals
    else:
        if model.fine is None:
            raise ValueError("training_step: stage 'fine' needs a model with the fine level (config.fine.enabled)")
        with torch.no_grad():
            _, embedding = model.coarse.query(model.coarse.encode(inputs), inputs, points, projection)
            predicted = model.fine.predict_normals(inputs)
        logits = model.fine.query(model.fine.encode(inputs, predicted), projection, embedding)
        occupancy = loss = occupancy_loss(logits, example.occupancy)
        normals = torch.zeros(())
    return {"loss": loss, "occupancy": occupancy.item(), "normals": float(normals.detach()), "iou": occupancy_iou(logits, example.occupancy)}


def _git_commit() -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


SHIPPED_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Checkpoints shipped with the project: `<config>.pt`, recorded in docs/MODELS.md."""


def save_checkpoint(path: str | Path, model: DeepMultiCap, optimizer: torch.optim.Optimizer, step: int,
                    history: list[dict], data_seed: int, sessions: list[dict]) -> None:  # fmt: skip
    """Write model, optimizer, step (steps done), config, data seed, metrics history and the training sessions
    (`git_commit` = the commit the training started from; `sessions`: {'step', 'git_commit'} at every start or
    resume), atomically."""
    state = {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
        "config": model.config.to_dict(), "data_seed": data_seed, "git_commit": sessions[0]["git_commit"],
        "sessions": sessions, "history": history,
    }  # fmt: skip
    with atomic_path(path) as temp:
        torch.save(state, temp)


OLD_CHECKPOINT_GLOBALS = (np.core.multiarray.scalar, np.dtype, type(np.dtype(np.float64)))
"""The only non-plain values in checkpoints written before learning rates were stored as floats: numpy float64
scalars (the optimizer's `lr`). They rebuild a number from a dtype and bytes and run nothing else."""


def _unpickling_error(path: Path, error: Exception) -> CheckpointError:
    """The one-line error for a file that torch's weights-only reader stopped at (nothing in it was run)."""
    written_by = "only checkpoints written by `capture train` or `capture export-weights` are read"
    found = re.search(r"GLOBAL ([\w.]+)", str(error))
    if found:
        return CheckpointError(f"checkpoint {path}: refused: it holds the Python object {found.group(1)}, which could "
                               f"run code when loaded; {written_by}")  # fmt: skip
    operand = re.search(r"Unsupported operand \d+", str(error))
    detail = f"pickle: {operand.group(0).lower()}" if operand else type(error).__name__
    return CheckpointError(f"checkpoint {path}: cannot be read (not tensors and plain values; {detail}); {written_by}")


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu", for_training: bool = True) -> dict:
    """The checkpoint's dictionary (see save_checkpoint), tensors on `device`.

    Only tensors and plain values are unpickled (torch's weights-only reader, plus the numpy scalars of
    OLD_CHECKPOINT_GLOBALS): a crafted file that would run code is refused with a CheckpointError, never executed.
    `for_training=False` also accepts exported weights (`export_weights`: no optimizer state).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals(list(OLD_CHECKPOINT_GLOBALS)):
            state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        raise _unpickling_error(path, error) from None
    except Exception as error:  # torch raises several types for damaged files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {path}: cannot be read ({reason})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path}: expected a dictionary of model, step and config, "
                              f"got {type(state).__name__}")  # fmt: skip
    missing = {"model", "step", "config"} - set(state)
    if for_training and "optimizer" not in state:
        missing.add("optimizer (exported weights cannot be resumed)")
    if missing:
        raise CheckpointError(f"checkpoint {path}: missing entries {sorted(missing)}")
    return state


def load_model(path: str | Path, device: str | torch.device = "cpu") -> DeepMultiCap:
    """The model stored in a checkpoint, in eval mode on `device`."""
    state = read_checkpoint(path, device, for_training=False)
    model = DeepMultiCap(Config.from_dict(state["config"])).to(device)
    model.load_state_dict(state["model"])
    return model.eval()


def export_weights(checkpoint: str | Path, out: str | Path) -> Path:
    """Write the weights of a training checkpoint without its optimizer state (what `implicit/weights/` ships):
    model, config, step, data seed, git commit and metrics history. Returns `out`."""
    state = read_checkpoint(checkpoint)
    state.pop("optimizer")
    with atomic_path(out) as temp:
        torch.save(state, temp)
    return Path(out)


@dataclass
class TrainResult:
    """Steps done, the logged metrics (one dict per log interval) and the checkpoint written last."""

    step: int
    history: list[dict] = field(default_factory=list)
    checkpoint: Path | None = None


def train(
    config: Config,
    dataset: TrainingDataset,
    out_dir: str | Path,
    steps: int | None = None,
    device: str | torch.device = "cpu",
    resume: bool = False,
    validate: Callable[[DeepMultiCap, bool], dict[str, float]] | None = None,
) -> TrainResult:
    """Train (or continue training) a model and write checkpoints to `out_dir`.

    Args:
        config: the model and training configuration (a resumed checkpoint must have the same one).
        dataset: the training examples (its seed is recorded as the data seed).
        out_dir: folder for CHECKPOINT_NAME and history.json.
        steps: total steps to reach (default: total_steps(config)); stages switch at config.train.coarse_steps.
        device: 'cpu' or 'cuda'.
        resume: continue from out_dir/CHECKPOINT_NAME when it exists.
        validate: scores held-out people: (model, fine level trained?) -> {name: value} with 'val_iou',
            'val_iou_coarse', 'val_chamfer_cm', 'val_p2s_cm', 'val_empty' (multihuman_eval.validation.validate);
            called every config.train.validate_every steps and at the end, its values go into the history.

    Writes out_dir/CHECKPOINT_NAME, history.json and curves.png (implicit.training_curves) at every checkpoint, and
    logs progress (steps done, time per step, time left).
    """
    out_dir = Path(out_dir)
    checkpoint = out_dir / CHECKPOINT_NAME
    torch.manual_seed(config.train.seed)
    model = DeepMultiCap(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.learning_rate)
    step, history, sessions = 0, [], []
    if resume and checkpoint.is_file():
        state = read_checkpoint(checkpoint, device)
        if state["config"] != config.to_dict():
            raise CheckpointError(
                f"checkpoint {checkpoint}: made with config {state['config'].get('name')!r} whose fields differ from the "
                f"requested {config.name!r}; use another --out folder or the same config"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = int(state["step"]), list(state.get("history", []))
        sessions = list(state.get("sessions", [{"step": 0, "git_commit": state.get("git_commit")}]))
        logger.info("resumed from %s at step %d", checkpoint, step)
    sessions.append({"step": step, "git_commit": _git_commit()})
    end = total_steps(config) if steps is None else steps
    window: list[dict] = []
    started = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    progress = ProgressLog("train", max(end - step, 1), "steps", every=60.0)
    while step < end:
        stage = stage_at(config, step)
        index = int(np.random.default_rng([dataset.seed, step]).integers(len(dataset)))
        example = dataset.example(index, draw=step).to(device)
        model.train()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(config, step)
        metrics = training_step(model, example, stage, config.train.normal_loss_weight)
        optimizer.zero_grad(set_to_none=True)
        metrics["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.gradient_clip)
        optimizer.step()
        step += 1
        window.append({k: float(v.detach()) if isinstance(v, torch.Tensor) else v for k, v in metrics.items()})
        progress.step(f"step {step}, {stage} stage, loss {window[-1]['loss']:.4f}")
        validate_now = validate is not None and (step % config.train.validate_every == 0 or step == end)
        if step % config.train.log_every == 0 or step == end or validate_now:
            entry = {"step": step, "stage": stage, "seconds": round(time.perf_counter() - started, 2)}
            entry.update({k: round(float(np.mean([w[k] for w in window])), 5) for k in window[0]})
            window = []
            logger.info("step %d (%s): loss %.4f occupancy %.4f normals %.4f IoU %.3f", step, stage,
                        entry["loss"], entry["occupancy"], entry["normals"], entry["iou"])  # fmt: skip
            if validate_now:
                scores = validate(model, stage == "fine")
                entry.update({k: round(v, 5) for k, v in scores.items()})
                logger.info("step %d validation: IoU %.3f (coarse %.3f), Chamfer %.2f cm, P2S %.2f cm, %d empty",
                            step, scores["val_iou"], scores["val_iou_coarse"], scores["val_chamfer_cm"],
                            scores["val_p2s_cm"], scores["val_empty"])  # fmt: skip
            history.append(entry)
        if step % config.train.checkpoint_every == 0 or step == end:
            save_checkpoint(checkpoint, model, optimizer, step, history, dataset.seed, sessions)
            atomic_write_text(out_dir / "history.json", json.dumps(history, indent=1))
            plot_training_curves(history, out_dir / "curves.png", title=f"capture train: {config.name}")
    return TrainResult(step=step, history=history, checkpoint=checkpoint if checkpoint.is_file() else None)
