"""Segmentation metrics against ground-truth instance maps."""

from __future__ import annotations

import numpy as np

from segmentation.errors import SegmentationError


def person_iou(predicted: np.ndarray, truth: np.ndarray, num_people: int) -> np.ndarray:
    """(P, V) intersection over union of each person's pixels, per view.

    Args:
        predicted, truth: (V, H, W) int index maps (-1 background, p person).
        num_people: P.
    Returns:
        (P, V) float64 IoU; NaN where the person is in neither map of that view (not counted in means).
    """
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape or predicted.ndim != 3:
        raise SegmentationError(f"person_iou: expected two (V, H, W) maps of one shape, got {predicted.shape} and {truth.shape}")
    iou = np.full((num_people, predicted.shape[0]), np.nan)
    for p in range(num_people):
        a, b = predicted == p, truth == p
        union = (a | b).sum(axis=(1, 2))
        inter = (a & b).sum(axis=(1, 2))
        iou[p] = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return iou


def mask_iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """IoU of two bool masks of any shape; NaN when both are empty."""
    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    union = (predicted | truth).sum()
    return float((predicted & truth).sum() / union) if union else float("nan")
