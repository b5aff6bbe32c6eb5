"""Fit body parameters to keypoints for many people x frames at once.

One shape per person (shared over its frames), one pose / rotation / translation per frame; pose and shape
priors and temporal smoothness; the data terms are pluggable (:class:`KeypointTerm`): 3D keypoints
(:class:`Keypoints3DTerm`) and robust 2D reprojections in calibrated views (:class:`Keypoints2DTerm`).
Optimiser: L-BFGS (strong Wolfe), first on global rotation and translation, then on everything. The pose
prior pulls towards the natural pose (:func:`body.priors.natural_pose`: arms hanging), and arm joints without
data start there (:func:`initial_params`), so they hang naturally instead of keeping the model's rest pose. Global rotation and translation
start from a weighted Kabsch alignment of the natural-pose mean body's keypoints to each frame's targets (needs
3D targets; without them, from ``init``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import kornia.geometry.conversions as kgc
import torch

from body.errors import BodyModelError
from body.model import BodyModel
from body.params import BodyParams
from body.priors import joint_angle_limits, natural_pose, pose_prior, shape_prior, temporal_smoothness
from calibration.geometry import project_points

logger = logging.getLogger(__name__)


class KeypointTerm(Protocol):
    """A data term on predicted keypoints (P, T, K, 3) (world, metres, in the fit's ``keypoint_names`` order).

    Returns the scalar loss (already weighted) and per-keypoint residuals (P, T, K) for reporting.
    """

    def __call__(self, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


class Keypoints3DTerm:
    """Confidence-weighted squared 3D distance to target keypoints, in units of ``sigma`` metres.

    Args:
        target: (P, T, K, 3) world keypoints, metres. confidence: (P, T, K), 0 = missing.
        sigma: distance that costs 1 (default 1 cm). weight: multiplier.
    Residuals: (P, T, K) Euclidean distances in metres.
    """

    def __init__(self, target: torch.Tensor, confidence: torch.Tensor, sigma: float = 0.01, weight: float = 1.0):
        if target.dim() != 4 or target.shape[-1] != 3 or confidence.shape != target.shape[:-1]:
            raise BodyModelError(
                f"Keypoints3DTerm: expected target (P, T, K, 3) and confidence (P, T, K), got "
                f"{tuple(target.shape)} and {tuple(confidence.shape)}"
            )
        self.target, self.confidence, self.sigma, self.weight = target, confidence, sigma, weight

    def __call__(self, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        residual = (keypoints - self.target).square().sum(-1).add(1e-12).sqrt()
        loss = (self.confidence * (residual / self.sigma).square()).sum() / self.confidence.sum().clamp_min(1e-9)
        return self.weight * loss, residual


class Keypoints2DTerm:
    """Confidence-weighted robust reprojection error of the keypoints in V calibrated views.

    Per observation, with r the pixel distance between the projected keypoint and the detection, the cost is
    ``(r / sigma_px)^2 * robust_px^2 / (r^2 + robust_px^2)`` (Geman-McClure): quadratic below ``robust_px``,
    saturating at ``(robust_px / sigma_px)^2`` above it, so outlier detections pull with a bounded force.
    With ``mirror`` (each keypoint's left/right twin), a twin pair in a view whose swapped reading costs less than
    half its reading as detected is read swapped, so a detector's left/right swap in one view does not pull the
    limbs (the other views and the 3D term decide which side is which).

    Args:
        cameras: V cameras (``calibration.geometry.CameraTensors`` of leading shape (V,)).
        pixels: (P, T, V, K, 2) detections, pixels (distorted, as detected). confidence: (P, T, V, K), 0 = none.
        sigma_px: reprojection error that costs 1. robust_px: scale of the robust loss. weight: multiplier.
        mirror: (K,) index of each keypoint's left/right twin (itself for central keypoints), or None.
    Residuals: (P, T, K) confidence-weighted mean pixel distance over the views observing the keypoint (0 if none).
    """

    def __init__(self, cameras, pixels: torch.Tensor, confidence: torch.Tensor, sigma_px: float = 4.0,
                 robust_px: float = 20.0, weight: float = 1.0, mirror: Sequence[int] | None = None):  # fmt: skip
        if pixels.dim() != 5 or pixels.shape[-1] != 2 or confidence.shape != pixels.shape[:-1]:
            raise BodyModelError(
                f"Keypoints2DTerm: expected pixels (P, T, V, K, 2) and confidence (P, T, V, K), got "
                f"{tuple(pixels.shape)} and {tuple(confidence.shape)}"
            )
        if len(cameras) != pixels.shape[2]:
            raise BodyModelError(f"Keypoints2DTerm: {len(cameras)} cameras for {pixels.shape[2]} views of pixels")
        self.cameras = cameras.to(dtype=pixels.dtype, device=pixels.device)
        self.pixels, self.confidence = pixels, confidence
        self.sigma_px, self.robust_px, self.weight = sigma_px, robust_px, weight
        self.mirror = None if mirror is None else torch.as_tensor(mirror, dtype=torch.long, device=pixels.device)
        if self.mirror is not None and self.mirror.shape != (pixels.shape[-2],):
            raise BodyModelError(
                f"Keypoints2DTerm: mirror must list {pixels.shape[-2]} keypoints, got {tuple(self.mirror.shape)}"
            )

    def _robust(self, projected: torch.Tensor, pixels: torch.Tensor, confidence: torch.Tensor):
        """Weighted robust costs and pixel distances, both (P, T, V, K)."""
        distance2 = (projected - pixels).square().sum(-1)
        robust = distance2 / self.sigma_px**2 * self.robust_px**2 / (distance2 + self.robust_px**2)
        return confidence * robust, distance2.add(1e-12).sqrt()

    def __call__(self, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cams = self.cameras
        projected = project_points(keypoints.unsqueeze(-3), cams.K, cams.dist, cams.R, cams.t)  # (P, T, V, K, 2)
        cost, distance = self._robust(projected, self.pixels, self.confidence)
        confidence = self.confidence
        if self.mirror is not None:
            mirror = self.mirror
            swapped_confidence = confidence[..., mirror]
            swapped, swapped_distance = self._robust(projected, self.pixels[..., mirror, :], swapped_confidence)
            use_swapped = swapped + swapped[..., mirror] < 0.5 * (cost + cost[..., mirror])  # per twin pair and view
            cost = torch.where(use_swapped, swapped, cost)
            distance = torch.where(use_swapped, swapped_distance, distance)
            confidence = torch.where(use_swapped, swapped_confidence, confidence)
        loss = cost.sum() / self.confidence.sum().clamp_min(1e-9)
        residual = (confidence * distance).sum(2) / confidence.sum(2).clamp_min(1e-9)
        return self.weight * loss, residual


@dataclass
class FitConfig:
    """Fitting settings."""

    global_iterations: int = 30
    """L-BFGS iterations of the first stage (global rotation and translation only)."""
    iterations: int = 200
    """L-BFGS iterations of the second stage (everything)."""
    fit_shape: bool = True
    """Optimise the shape (one per person); else keep the initial shape."""
    pose_prior_weight: float = 1e-2
    shape_prior_weight: float = 1e-2
    smoothness_weight: float = 1.0
    """Weight of squared frame-to-frame differences of pose, rotation (radians) and translation (x 10, i.e. dm)."""
    tolerance: float = 1e-9
    """L-BFGS change tolerance on the loss."""


@dataclass
class FitResult:
    """Fitted parameters (shape (P, 1, S), the rest (P, T, ...)), predicted keypoints (P, T, K, 3), per-term
    residuals (each (P, T, K)), and the loss after each stage."""

    params: BodyParams
    keypoints: torch.Tensor
    residuals: list[torch.Tensor]
    loss_history: list[float] = field(default_factory=list)


def kabsch(source: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted rigid alignment ``target ~ R @ source + t``.

    Args:
        source, target: (B, K, 3). weights: (B, K) >= 0.
    Returns:
        R (B, 3, 3), t (B, 3). Computed in float64.
    """
    src, dst, w = source.double(), target.double(), weights.double().clamp_min(0)[..., None]
    w = w / w.sum(1, keepdim=True).clamp_min(1e-12)
    src_mean, dst_mean = (w * src).sum(1), (w * dst).sum(1)
    cov = ((dst - dst_mean[:, None]) * w).transpose(1, 2) @ (src - src_mean[:, None])  # (B, 3, 3)
    u, _, vt = torch.linalg.svd(cov)
    sign = torch.sign(torch.linalg.det(u @ vt))
    d = torch.diag_embed(torch.stack([torch.ones_like(sign), torch.ones_like(sign), sign], -1))
    rotation = u @ d @ vt
    translation = dst_mean - (rotation @ src_mean[..., None])[..., 0]
    return rotation.to(source.dtype), translation.to(source.dtype)


def initial_params(
    body: BodyModel, keypoint_names: Sequence[str], target: torch.Tensor, confidence: torch.Tensor
) -> BodyParams:
    """Mean shape, a pose, and a per-frame rigid alignment of the natural-pose body's keypoints to ``target``
    (P, T, K, 3). The pose: an arm joint whose child keypoint (elbow of the shoulder, wrist of the elbow) has no
    confidence starts in the natural pose (:func:`body.priors.natural_pose`); the others start at rest (zero),
    from where observed limbs converged faster (docs/BENCHMARKS.md, body fit)."""
    batch = tuple(target.shape[:2])
    params = body.neutral_params(batch, standing=False)
    natural = body.neutral_params((), standing=False)
    natural.pose_aa = natural_pose(body)
    for side in ("left", "right"):
        for joint, child in ((f"{side}_shoulder", f"{side}_elbow"), (f"{side}_elbow", f"{side}_wrist")):
            if joint in body.pose_joint_names:
                j = body.pose_joint_names.index(joint)
                unseen = confidence[..., keypoint_names.index(child)] <= 0 if child in keypoint_names else True
                params.pose_aa[..., j, :] = torch.where(torch.as_tensor(unseen)[..., None], natural.pose_aa[j], 0.0)
    with torch.no_grad():
        model_kp = body.keypoints(natural, list(keypoint_names))
        flat_target = target.reshape(-1, *target.shape[2:]).to(body.dtype)
        weights = confidence.reshape(-1, confidence.shape[-1]).to(body.dtype)
        rotation, translation = kabsch(model_kp.expand_as(flat_target), flat_target, weights)
        params.global_rot_aa = kgc.rotation_matrix_to_axis_angle(rotation).reshape(*batch, 3)
        params.transl = translation.reshape(*batch, 3)  # the root sits at the canonical origin
    return params


def max_evaluations(config: FitConfig) -> int:
    """Most loss evaluations of :func:`fit_body` (L-BFGS evaluates at most 5/4 x its iterations per stage)."""
    return sum(n * 5 // 4 for n in (config.global_iterations, config.iterations) if n > 0)


def fit_body(
    body: BodyModel,
    keypoint_names: Sequence[str],
    terms: Sequence[KeypointTerm],
    init: BodyParams,
    config: FitConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> FitResult:
    """Optimise ``init`` (batch (P, T)) so that ``body.keypoints(params, keypoint_names)`` satisfies ``terms``.

    ``init.shape`` may be (P, 1, S) or (P, T, S); the result has one shape per person, (P, 1, S).
    ``progress`` is called with the stage's name after each loss evaluation (at most :func:`max_evaluations`).
    """
    config = config or FitConfig()
    if len(init.batch_shape) != 2:
        raise BodyModelError(f"fit_body: init must have batch dims (P, T), got {init.batch_shape}")
    names = list(keypoint_names)
    body.keypoint_indices(names)  # raises if the body cannot produce them
    limits, natural = joint_angle_limits(body), natural_pose(body)
    num_bodies = init.pose_aa.shape[0] * init.pose_aa.shape[1]
    shape0 = init.shape.expand(*init.batch_shape, init.shape.shape[-1]).mean(1, keepdim=True)
    variables = {
        "shape": shape0.detach().clone().to(body.dtype),
        "pose_aa": init.pose_aa.detach().clone().to(body.dtype),
        "global_rot_aa": init.global_rot_aa.detach().clone().to(body.dtype),
        "transl": init.transl.detach().clone().to(body.dtype),
    }

    def objective() -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        params = BodyParams(**variables)
        keypoints = body.keypoints(params, names)
        losses, residuals = zip(*(term(keypoints) for term in terms))
        loss = sum(losses)
        loss = loss + config.pose_prior_weight * pose_prior(params.pose_aa, limits, natural).sum() / num_bodies
        loss = loss + config.shape_prior_weight * shape_prior(params.shape, body).mean()
        smooth = sum(
            temporal_smoothness(v, time_dim=1)
            for v in (params.pose_aa, params.global_rot_aa, 10.0 * params.transl)
        )
        loss = loss + config.smoothness_weight * smooth / num_bodies
        return loss, list(residuals), keypoints

    history: list[float] = []
    stages = [(["global_rot_aa", "transl"], config.global_iterations)]
    stages.append((["pose_aa", "global_rot_aa", "transl"] + (["shape"] if config.fit_shape else []), config.iterations))
    for names_to_fit, iterations in stages:
        if iterations <= 0:
            continue
        tensors = [variables[n].requires_grad_(True) for n in names_to_fit]
        optimizer = torch.optim.LBFGS(tensors, lr=1.0, max_iter=iterations, tolerance_change=config.tolerance,
                                      history_size=20, line_search_fn="strong_wolfe")  # fmt: skip

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = objective()[0]
            loss.backward()
            if progress is not None:
                progress("+".join(names_to_fit))
            return loss

        optimizer.step(closure)
        for tensor in tensors:
            tensor.requires_grad_(False)
        if body.shape_bounds is not None:
            variables["shape"].clamp_(body.shape_bounds[:, 0], body.shape_bounds[:, 1])
        with torch.no_grad():
            history.append(float(objective()[0]))
        logger.info("fit stage %s: loss %.4g", "+".join(names_to_fit), history[-1])

    with torch.no_grad():
        _, residuals, keypoints = objective()
    return FitResult(params=BodyParams(**variables), keypoints=keypoints, residuals=residuals, loss_history=history)


def fit_keypoints3d(
    body: BodyModel,
    target: torch.Tensor,
    confidence: torch.Tensor,
    keypoint_names: Sequence[str],
    init: BodyParams | None = None,
    config: FitConfig | None = None,
) -> FitResult:
    """Fit to 3D keypoints: ``target`` (P, T, K, 3) world metres, ``confidence`` (P, T, K), named by
    ``keypoint_names`` (canonical names, e.g. ``get_layout("body25").keypoints``). Residuals: metres."""
    target = torch.as_tensor(target, dtype=body.dtype, device=body.device)
    confidence = torch.as_tensor(confidence, dtype=body.dtype, device=body.device)
    if target.shape[-2] != len(keypoint_names):
        raise BodyModelError(f"fit_keypoints3d: target has {target.shape[-2]} keypoints, names list {len(keypoint_names)}")
    if init is None:
        init = initial_params(body, keypoint_names, target, confidence)
    return fit_body(body, keypoint_names, [Keypoints3DTerm(target, confidence)], init, config)
