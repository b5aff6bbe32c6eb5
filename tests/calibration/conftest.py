"""Fixtures for the calibration tests: small random camera rigs and scene points."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.camera import Camera, look_at_rotation

TARGET = np.array([0.0, 0.0, 1.0])
"""Where the ring rigs look (metres, world z-up): the middle of a standing person."""


def ring_rig(n_views: int = 6, seed: int = 0, distortion: bool = True, radius: float = 3.5) -> list[Camera]:
    """`n_views` cameras (1280 x 960) on a jittered ring of `radius` m around TARGET, 1.2-2.0 m high, looking at it.

    Random focal lengths (900-1200 px), principal points near the centre, no skew and, with `distortion`,
    moderate OpenCV distortion (|k1| <= 0.25, |p| <= 2e-3).
    """
    rng = np.random.default_rng(seed)
    cameras = []
    for i, angle in enumerate(np.linspace(0.0, 2.0 * np.pi, n_views, endpoint=False)):
        angle += rng.uniform(-0.2, 0.2)
        r = radius * rng.uniform(0.9, 1.1)
        center = np.array([r * np.cos(angle), r * np.sin(angle), rng.uniform(1.2, 2.0)])
        R = look_at_rotation(center, TARGET + rng.uniform(-0.1, 0.1, size=3))
        f = rng.uniform(900.0, 1200.0)
        cx, cy = 640.0 + rng.uniform(-20, 20), 480.0 + rng.uniform(-20, 20)
        K = np.array([[f, 0.0, cx], [0.0, f * rng.uniform(0.98, 1.02), cy], [0.0, 0.0, 1.0]])
        dist = (
            np.array([rng.uniform(-0.25, 0.1), rng.uniform(-0.05, 0.05), rng.uniform(-2e-3, 2e-3),
                      rng.uniform(-2e-3, 2e-3), rng.uniform(-0.01, 0.01)])
            if distortion
            else np.zeros(5)
        )
        cameras.append(Camera(f"cam{i:02d}", 1280, 960, K, dist, R, -R @ center))
    return cameras


def scene_points(n: int = 200, seed: int = 0) -> np.ndarray:
    """(n, 3) float64 points in a person-sized box around TARGET (x, y in [-0.5, 0.5], z in [0.1, 1.9]), metres."""
    rng = np.random.default_rng(seed)
    low, high = np.array([-0.5, -0.5, 0.1]), np.array([0.5, 0.5, 1.9])
    return rng.uniform(low, high, size=(n, 3))


@pytest.fixture
def make_ring_rig():
    """Factory: make_ring_rig(n_views=6, seed=0, distortion=True, radius=3.5) -> list[Camera]."""
    return ring_rig


@pytest.fixture
def make_scene_points():
    """Factory: make_scene_points(n=200, seed=0) -> (n, 3) float64 numpy points, metres."""
    return scene_points
