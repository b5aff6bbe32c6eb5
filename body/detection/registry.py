"""Detector backends by name: ``create_detector("blazepose", layout="body25")``."""

from __future__ import annotations

import difflib
from pathlib import Path

from body.detection.detector import KeypointDetector
from body.detection.errors import DetectionError

DETECTORS = ("blazepose",)
"""Names accepted by :func:`create_detector`."""

DETECTOR_LAYOUTS = ("body25", "coco17")
"""Keypoint layouts the detectors write."""


def create_detector(
    name: str = "blazepose", layout: str = "body25", max_people: int = 6, cache_dir: str | Path | None = None
) -> KeypointDetector:
    """A detector backend by name, returning keypoints in ``layout``.

    Args:
        name: one of :data:`DETECTORS`.
        layout: output keypoint layout (``"body25"``, ``"coco17"``, ...).
        max_people: most people per image (or per crop).
        cache_dir: cache root for model files built on first use (default ``$MULTICAP_CACHE_DIR``).
    Raises:
        DetectionError: unknown name; DetectorUnavailableError: the backend's optional dependency is missing.
    """
    if name == "blazepose":
        from body.detection.blazepose import BlazePoseConfig, BlazePoseDetector

        return BlazePoseDetector(BlazePoseConfig(layout=layout, max_people=max_people), cache_dir=cache_dir)
    close = difflib.get_close_matches(str(name), DETECTORS, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise DetectionError(f"unknown detector {name!r}{hint} (available: {', '.join(DETECTORS)})")
