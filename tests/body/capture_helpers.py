"""Small synthetic scenes for the 4D body capture tests: people posed by the body model, walking in a ring rig."""

from __future__ import annotations

import numpy as np
import torch

from body.params import BodyParams
from synth.detector_sim import DetectorNoise

QUIET = DetectorNoise(jitter_px=0.0, miss_rate=0.0, outlier_rate=0.0, swap_rate=0.0, false_rate=0.0, limb_radius=0.0,
                      confidence_noise=0.0)  # fmt: skip
"""The detector simulator without noise: exact projections of the joints inside the image, confidence 0.95."""


def walking_people(body, starts, ends, frames: int, arms: float = 1.0, strides: float = 2.0) -> BodyParams:
    """People (P = len(starts)) walking in straight lines from ``starts`` to ``ends`` ((P, 2) metres, floor
    plane), facing their direction, legs swinging ``strides`` periods over the sequence; batch (P, T), shape
    (P, 1, S)."""
    starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    people = len(starts)
    params = body.neutral_params((people, frames), standing=True)
    params.shape = params.shape[:, :1].clone()
    s = torch.linspace(0.0, 1.0, frames, dtype=params.transl.dtype)
    names = body.pose_joint_names
    phase = 2 * np.pi * strides * s
    for p in range(people):
        direction = ends[p] - starts[p]
        yaw = float(np.arctan2(direction[1], direction[0])) + np.pi / 2 if np.linalg.norm(direction) > 0 else 0.0
        for axis in range(2):
            params.transl[p, :, axis] = float(starts[p, axis]) + float(direction[axis]) * s
        params.global_rot_aa[p, :, 2] = yaw
        params.pose_aa[p, :, names.index("left_hip"), 0] = 0.4 * torch.sin(phase + p)
        params.pose_aa[p, :, names.index("right_hip"), 0] = -0.4 * torch.sin(phase + p)
        params.pose_aa[p, :, names.index("left_shoulder"), 1] = -arms
        params.pose_aa[p, :, names.index("right_shoulder"), 1] = arms
    return params
