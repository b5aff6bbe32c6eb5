"""Losses and metrics: occupancy BCE on logits, normal-map L1 + cosine, occupancy IoU."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def occupancy_loss(logits: Tensor, occupancy: Tensor) -> Tensor:
    """Mean binary cross-entropy of (B, N) logits against (B, N) labels in {0, 1}."""
    return F.binary_cross_entropy_with_logits(logits, occupancy)


def normal_loss(predicted: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """L1 + (1 - cosine) of (B, V, 3, S, S) unit normals, averaged over the pixels where mask (B, V, 1, S, S) is 1."""
    weight = mask.sum().clamp(min=1.0)
    l1 = ((predicted - target).abs().sum(dim=2, keepdim=True) * mask).sum() / weight
    cosine = ((1.0 - (predicted * target).sum(dim=2, keepdim=True)) * mask).sum() / weight
    return l1 + cosine


@torch.no_grad()
def occupancy_iou(logits: Tensor, occupancy: Tensor) -> float:
    """IoU of the inside sets: prediction logit > 0 (probability > 0.5) vs labels > 0.5; 1 when both are empty."""
    predicted, actual = logits > 0, occupancy > 0.5
    union = (predicted | actual).sum().item()
    return 1.0 if union == 0 else (predicted & actual).sum().item() / union
