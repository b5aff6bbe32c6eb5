"""Ring rigs: V cameras on a circle around a capture volume, looking at its centre (like the paper's 6-view rig)."""

from __future__ import annotations

import math

import numpy as np

from calibration.camera import Camera, look_at_rotation
from calibration.rig import Rig


def ring_rig(
    num_cameras: int = 6,
    radius: float = 3.0,
    height: float = 1.5,
    target: tuple[float, float, float] = (0.0, 0.0, 0.9),
    image_size: tuple[int, int] = (512, 512),
    fov_deg: float = 45.0,
    distortion: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0),
    jitter: float = 0.0,
    seed: int = 0,
    around: tuple[float, float] = (0.0, 0.0),
) -> Rig:
    """A rig of `num_cameras` cameras evenly spaced on a horizontal circle (z-up world), all looking at `target`.

    Args:
        radius, height: circle radius and camera height, metres.
        target: (3,) look-at point, metres (default: chest height of a standing person at the origin).
        image_size: (width, height) pixels.
        fov_deg: horizontal field of view, degrees; square pixels, principal point at the image centre.
        distortion: [k1, k2, p1, p2, k3] for every camera.
        jitter: relative size of random perturbations (0 = perfect ring): angle, radius, height, look-at point.
        seed: random seed for the perturbations.
        around: (x, y) centre of the circle, metres (default: the world origin).
    """
    if num_cameras < 1:
        raise ValueError(f"ring_rig: num_cameras must be >= 1, got {num_cameras}")
    rng = np.random.default_rng(seed)
    width, height_px = image_size
    focal = width / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    K = np.array([[focal, 0.0, (width - 1) / 2.0], [0.0, focal, (height_px - 1) / 2.0], [0.0, 0.0, 1.0]])
    cameras = []
    for index in range(num_cameras):
        angle = 2.0 * math.pi * index / num_cameras + jitter * rng.normal() * 0.2
        r = radius * (1.0 + jitter * rng.normal() * 0.1)
        z = height * (1.0 + jitter * rng.normal() * 0.1)
        center = np.array([around[0] + r * math.cos(angle), around[1] + r * math.sin(angle), z])
        look = np.asarray(target, dtype=np.float64) + jitter * rng.normal(size=3) * 0.1
        R = look_at_rotation(center, look)
        cameras.append(Camera(f"cam{index:02d}", width, height_px, K, np.asarray(distortion), R, -R @ center))
    return Rig(tuple(cameras))
