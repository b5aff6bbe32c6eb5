"""Fixtures for the 2D keypoint detection tests: a BlazePose detector with its bundle built into a temporary
cache (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from detect_helpers import HAS_MEDIAPIPE


@pytest.fixture(scope="session")
def detector_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh cache root for this test session (the bundle is built into it once)."""
    return tmp_path_factory.mktemp("multicap_cache")


@pytest.fixture(scope="session")
def blazepose(detector_cache: Path):
    """A BlazePose detector (BODY_25 output) whose bundle was built in the session's temporary cache."""
    if not HAS_MEDIAPIPE:
        pytest.skip("mediapipe 0.10.14 not installed (optional extra: pip install '.[detect]')")
    from body.detection.blazepose import BlazePoseConfig, BlazePoseDetector

    detector = BlazePoseDetector(BlazePoseConfig(layout="body25"), cache_dir=detector_cache)
    yield detector
    detector.close()
