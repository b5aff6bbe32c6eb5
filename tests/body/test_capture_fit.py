"""The robust 2D reprojection term and the sequence fit of tracked people (shape shared, gaps interpolated)."""

from __future__ import annotations

import numpy as np
import torch
from capture_helpers import walking_people

from body.association import Associator
from synth.body_capture import simulate_capture
from body.fitting import FitConfig, Keypoints2DTerm
from body.sequence_fit import SequenceFitConfig, fit_tracks
from body.tracking import track_people
from calibration.geometry import CameraTensors
from calibration.ring_rig import ring_rig


def test_reprojection_term_is_zero_at_the_truth_and_bounded_for_outliers():
    cams = CameraTensors.from_cameras(list(ring_rig(3)))
    points = torch.tensor([[[[0.1, 0.2, 1.0], [0.0, -0.2, 1.5]]]], dtype=torch.float64)  # (P=1, T=1, K=2, 3)
    pixels = cams.project(points[0, 0]).unsqueeze(0).unsqueeze(0)  # (1, 1, V, K, 2)
    confidence = torch.ones(pixels.shape[:-1], dtype=torch.float64)
    term = Keypoints2DTerm(cams, pixels, confidence, sigma_px=4.0, robust_px=20.0)
    loss, residual = term(points)
    assert float(loss) < 1e-12 and residual.shape == (1, 1, 2) and float(residual.max()) < 1e-5
    far = pixels.clone()
    far[..., 0, 0, :] += 1000.0  # one view's first joint is a gross outlier
    loss_far = float(Keypoints2DTerm(cams, far, confidence, sigma_px=4.0, robust_px=20.0)(points)[0])
    assert loss_far <= (20.0 / 4.0) ** 2 / 6 + 1e-9  # saturates at (robust / sigma)^2, averaged over 6 observations
    shifted = points.clone().requires_grad_(True)
    Keypoints2DTerm(cams, pixels, confidence)(shifted + 0.01)[0].backward()
    assert torch.isfinite(shifted.grad).all() and float(shifted.grad.abs().sum()) > 0


def test_sequence_fit_with_an_undetected_gap(anny_body):
    frames = 6
    params = walking_people(anny_body, [[-0.5, 0.0]], [[0.3, 0.0]], frames, strides=0.4)  # slow enough to interpolate
    present = np.ones((1, frames), dtype=bool)
    present[0, 3] = False  # nobody detected in frame 3: the fit must interpolate it
    capture = simulate_capture(anny_body, params, present, ring_rig(4), seed=1)
    associator = Associator(list(capture.rig), "body25")
    tracks = track_people(list(range(frames)), [associator(frame) for frame in capture.detections])
    assert len(tracks) == 1 and 3 not in tracks[0].people
    config = SequenceFitConfig(fit=FitConfig(global_iterations=20, iterations=60))
    (fit,) = fit_tracks(anny_body, tracks, list(range(frames)), list(capture.rig), "body25", config)
    assert fit.frames == list(range(frames)) and fit.interpolated.tolist() == [False, False, False, True, False, False]
    assert fit.params.shape.shape == (1, len(anny_body.shape_names)) and fit.params.pose_aa.shape[0] == frames
    error = np.linalg.norm(fit.keypoints - capture.keypoints[0], axis=-1).mean(-1)  # (T,) metres
    assert error[~fit.interpolated].mean() < 0.035, error
    assert error[3] < 0.04, error  # interpolated from its neighbours
