"""Colour overlays of label maps for reports: each person tinted in its colour, hidden parts outlined."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np


def person_color(person_id: int) -> tuple[int, int, int]:
    """A stable, distinct RGB colour (0-255) for a track id (golden-ratio hues)."""
    r, g, b = colorsys.hsv_to_rgb((0.07 + 0.618034 * person_id) % 1.0, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_overlay(image: np.ndarray | None, index: np.ndarray, occluded: np.ndarray, person_ids: list[int],
                 alpha: float = 0.5) -> np.ndarray:  # fmt: skip
    """(H, W, 3) uint8 RGB: `image` (or grey) with each person's pixels tinted in `person_color` and the
    outline of the pixels where the person is hidden (`occluded` (P, H, W)) drawn in its colour.

    Args:
        image: (H, W, 3) uint8 RGB or None.
        index: (H, W) int index map (-1 background, p person).
        person_ids: (P,) track ids of the index map's people.
    """
    height, width = index.shape
    canvas = np.full((height, width, 3), 96, np.uint8) if image is None else np.asarray(image, np.uint8).copy()
    for p, person_id in enumerate(person_ids):
        color = np.array(person_color(person_id), np.float32)
        pixels = index == p
        canvas[pixels] = ((1 - alpha) * canvas[pixels] + alpha * color).astype(np.uint8)
        contours, _ = cv2.findContours(occluded[p].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(canvas, contours, -1, tuple(int(c) for c in color), 1)
    return canvas
