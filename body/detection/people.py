"""One detected person in one image: 2D keypoints in a named layout, per-joint confidences, box and score.

Convention: pixel coordinates of the image the detector saw, origin at the top-left pixel's centre (pixel
centres at integer coordinates, x right, y down), like ``calibration.camera.Camera.project``. A joint with
confidence 0 is missing; its position is meaningless (written as 0, 0 in OpenPose JSON).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from body.detection.errors import DetectionError
from body.keypoint_layouts import convert_keypoints, get_layout


@dataclass(frozen=True)
class PersonKeypoints:
    """A person's 2D keypoints in one image.

    Attributes:
        keypoints: (K, 2) float64 pixel positions, K = number of joints of ``layout``.
        confidence: (K,) float64 in [0, 1]; 0 = missing joint.
        layout: name of the keypoint layout (``body.keypoint_layouts.LAYOUTS``), e.g. ``"body25"``.
        bbox: (4,) float64 box ``[x0, y0, x1, y1]`` in pixels (defaults to the box of the confident joints).
        score: detection score in [0, 1] (defaults to the mean confidence of the joints).
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    layout: str
    bbox: np.ndarray | None = None
    score: float | None = None

    def __post_init__(self) -> None:
        layout = get_layout(self.layout)
        joints = len(layout)
        keypoints = np.asarray(self.keypoints, dtype=np.float64)
        confidence = np.asarray(self.confidence, dtype=np.float64)
        if keypoints.shape != (joints, 2) or confidence.shape != (joints,):
            raise DetectionError(
                f"PersonKeypoints: expected keypoints ({joints}, 2) and confidence ({joints},) for layout "
                f"{self.layout!r}, got {keypoints.shape} and {confidence.shape}"
            )
        if not np.all(np.isfinite(keypoints)) or not np.all((confidence >= 0) & (confidence <= 1)):
            raise DetectionError("PersonKeypoints: expected finite keypoints and confidences in [0, 1]")
        bbox = keypoint_box(keypoints, confidence) if self.bbox is None else np.asarray(self.bbox, np.float64)
        if bbox.shape != (4,):
            raise DetectionError(f"PersonKeypoints: expected bbox (4,) [x0, y0, x1, y1], got {bbox.shape}")
        score = float(confidence[confidence > 0].mean()) if self.score is None and confidence.any() else self.score
        object.__setattr__(self, "layout", layout.name)
        object.__setattr__(self, "keypoints", keypoints)
        object.__setattr__(self, "confidence", confidence)
        object.__setattr__(self, "bbox", bbox)
        object.__setattr__(self, "score", float(score or 0.0))

    @property
    def box_size(self) -> float:
        """Size of the box, ``max(width, height)`` in pixels (the PCK normaliser)."""
        return float(max(self.bbox[2] - self.bbox[0], self.bbox[3] - self.bbox[1]))

    def translated(self, offset: np.ndarray) -> PersonKeypoints:
        """The same person with keypoints and box shifted by ``offset`` (2,) pixels (crop -> full image)."""
        offset = np.asarray(offset, dtype=np.float64)
        return PersonKeypoints(
            self.keypoints + offset, self.confidence, self.layout, self.bbox + np.tile(offset, 2), self.score
        )

    def to_layout(self, layout: str) -> PersonKeypoints:
        """The person in another layout (joints the source lacks get confidence 0); box and score kept."""
        keypoints, confidence = convert_keypoints(self.keypoints, self.confidence, self.layout, layout)
        return PersonKeypoints(keypoints, confidence, layout, self.bbox, self.score)


def keypoint_box(keypoints: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """(4,) box ``[x0, y0, x1, y1]`` around the joints with confidence > 0; zeros when there are none.

    Args:
        keypoints: (K, 2) pixels.
        confidence: (K,).
    """
    valid = np.asarray(confidence) > 0
    if not valid.any():
        return np.zeros(4)
    points = np.asarray(keypoints)[valid]
    return np.concatenate([points.min(axis=0), points.max(axis=0)])
