"""Held-out validation of the network during training: occupancy IoU on fixed query points and Chamfer / P2S of
low-resolution meshes against the ground truth, for people never seen in training.

    validation = TrainingDataset(held_out_sources, config, seed=1, augment=False)
    metrics = validate(model, validation, fine=True, resolution=64)
    train(config, dataset, out, validate=functools.partial(validate, dataset=validation))   # implicit.training
    # {'val_iou': 0.81, 'val_iou_coarse': 0.79, 'val_chamfer_cm': 1.4, 'val_p2s_cm': 1.6, 'val_empty': 0}

The points of person i are the dataset's draw 0 (the same at every validation); meshes come from
`implicit.reconstruct_person`, the function `capture reconstruct` and `capture eval` use (same grid margin and
meshing; no neighbour rule, validation knows of no other person), from the encoding that also scores the IoU,
and are scored like `capture eval` (each person scaled to 1.80 m, distances in cm).
"""

from __future__ import annotations

import numpy as np
import torch

from implicit.dataset import TrainingDataset
from implicit.model import DeepMultiCap
from implicit.reconstruct import ReconstructionConfig, reconstruct_person
from multihuman_eval.metrics import SurfaceMetricsConfig, evaluate_surface

SURFACE_SAMPLES = 5000
"""Surface samples per mesh for the validation Chamfer (the evaluation protocol uses 10 000)."""


@torch.no_grad()
def validate(model: DeepMultiCap, fine: bool, dataset: TrainingDataset, resolution: int = 64) -> dict[str, float]:
    """Validation metrics of `model` on every person of `dataset` (built with augment=False).

    Args:
        model: the network (left in eval mode).
        fine: score the fine level (False: the coarse level only, e.g. during the coarse stage).
        dataset: held-out people.
        resolution: grid samples along the longest side of each person's mesh grid.

    Returns:
        val_iou (the scored level) and val_iou_coarse over all points of all people; val_chamfer_cm, val_p2s_cm
        (reconstruction to ground truth) averaged over the people whose mesh is not empty; val_empty, how many
        meshes were empty.
    """
    model.eval()
    device = next(model.parameters()).device
    use_fine = fine and model.fine is not None
    counts = {"inter": 0, "union": 0, "inter_coarse": 0, "union_coarse": 0}
    chamfer, p2s, empty = [], [], 0
    config = ReconstructionConfig(resolution=resolution)
    for index in range(len(dataset)):
        example = dataset.example(index, draw=0).to(device)
        encoding = model.encode(example.inputs, fine=use_fine)
        out = model.query(encoding, example.points)
        actual = example.occupancy > 0.5
        for suffix, logits in (("", out.logits), ("_coarse", out.coarse_logits)):
            predicted = logits > 0
            counts["inter" + suffix] += int((predicted & actual).sum())
            counts["union" + suffix] += int((predicted | actual).sum())
        truth, body = dataset.ground_truth(index)
        mesh = reconstruct_person(encoding, body, None, config, model).mesh
        if mesh.num_faces == 0:
            empty += 1
            continue
        metrics = evaluate_surface(mesh, truth, SurfaceMetricsConfig(samples_per_mesh=SURFACE_SAMPLES))
        chamfer.append(metrics.chamfer_cm)
        p2s.append(metrics.p2s_rec_to_gt_cm)
    return {
        "val_iou": counts["inter"] / max(counts["union"], 1),
        "val_iou_coarse": counts["inter_coarse"] / max(counts["union_coarse"], 1),
        "val_chamfer_cm": float(np.mean(chamfer)) if chamfer else float("nan"),
        "val_p2s_cm": float(np.mean(p2s)) if p2s else float("nan"),
        "val_empty": empty,
    }
