"""Draw detected skeletons on an image (the overlay PNG of ``capture keypoints``)."""

from __future__ import annotations

import cv2
import numpy as np

from body.detection.people import PersonKeypoints
from body.keypoint_layouts import get_layout

_COLOURS = ((0, 200, 255), (255, 80, 80), (80, 255, 80), (255, 0, 255), (255, 255, 0), (0, 128, 255))


def draw_people(image: np.ndarray, people: list[PersonKeypoints], min_confidence: float = 0.1) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) uint8 with each person's skeleton, joints and box drawn in its own colour.

    Colours are given in the image's own channel order (RGB or BGR alike: one colour per person index).
    Joints below ``min_confidence`` are not drawn.
    """
    canvas = np.ascontiguousarray(image).copy()
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    for index, person in enumerate(people):
        colour = _COLOURS[index % len(_COLOURS)]
        shown = person.confidence >= min_confidence
        points = np.round(person.keypoints).astype(int)
        for a, b in get_layout(person.layout).edges:
            if shown[a] and shown[b]:
                cv2.line(canvas, tuple(points[a]), tuple(points[b]), colour, thickness, cv2.LINE_AA)
        for point in points[shown]:
            cv2.circle(canvas, tuple(point), thickness + 2, colour, -1, cv2.LINE_AA)
        x0, y0, x1, y1 = np.round(person.bbox).astype(int)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, 1)
        cv2.putText(canvas, f"{index} {person.score:.2f}", (x0, max(y0 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, colour, thickness)  # fmt: skip
    return canvas
