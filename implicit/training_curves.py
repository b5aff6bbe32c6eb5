"""The training curves of a `capture train` run as a PNG: loss and occupancy IoU (training, validation) against
steps, and the validation Chamfer when it was measured.

    plot_training_curves(history, "ckpt/curves.png")     # history: the checkpoint's list of log entries
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.atomic import atomic_path


def _series(history: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [(entry["step"], entry[key]) for entry in history if key in entry and np.isfinite(entry[key])]
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def plot_training_curves(history: list[dict], path: str | Path, title: str = "") -> Path:
    """Write the curves of `history` (entries with 'step' and some of 'loss', 'occupancy', 'normals', 'iou',
    'val_iou', 'val_chamfer_cm', 'stage') to `path` atomically; the fine stage's start is marked. Returns `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for key, label in (("loss", "training loss"), ("occupancy", "occupancy BCE"), ("normals", "normal loss")):
        steps, values = _series(history, key)
        if len(steps) and values.any():
            axes[0].plot(steps, values, label=label)
    axes[0].set_yscale("log")
    for key, label, style in (("iou", "training IoU", "-"), ("val_iou", "validation IoU", "o-"),
                              ("val_iou_coarse", "validation IoU, coarse level", "s--")):  # fmt: skip
        steps, values = _series(history, key)
        if len(steps):
            axes[1].plot(steps, values, style, label=label)
    steps, values = _series(history, "val_chamfer_cm")
    if len(steps):
        axes[2].plot(steps, values, "o-", label="validation Chamfer (cm)")
    steps, values = _series(history, "val_p2s_cm")
    if len(steps):
        axes[2].plot(steps, values, "s--", label="validation P2S (cm)")
    fine_start = next((entry["step"] for entry in history if entry.get("stage") == "fine"), None)
    for ax, name in zip(axes, ("loss", "occupancy IoU", "surface distance, cm (1.80 m person)")):
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if fine_start is not None:
            ax.axvline(fine_start, color="gray", linestyle=":", label="fine stage starts")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=90)
    plt.close(figure)
    return path
