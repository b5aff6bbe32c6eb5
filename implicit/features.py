"""Person crops, the network's per-person inputs, and the projection of query points into the crops.

Convention (crop): a crop is a square window of the full image, side `side` pixels, whose top-left corner
(pixel edge, not centre) is at (left, top), resized to size x size. With pixel centres at integers
(origin top-left), a full-image pixel u maps to the crop pixel
    u' = (u + 0.5 - left) * s - 0.5,     s = size / side              (`CropBox.affine`, (2, 3))
and a crop pixel u' to the grid_sample coordinate (align_corners=False) g = (u' + 0.5) / size * 2 - 1.
Distortion stays in the full image: a point is projected with the full camera (K, dist, R, t) and then the crop's
affine map is applied to its distorted pixel, so projection into the crop is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from calibration.geometry import CameraTensors, project_points_with_depth


@dataclass(frozen=True)
class CropBox:
    """A square crop window: edges `left`, `top` and `side` in full-image pixels, resized to `size` x `size`."""

    left: float
    top: float
    side: float
    size: int

    def affine(self) -> np.ndarray:
        """(2, 3) float64 map from full-image pixels to crop pixels (see the module's convention)."""
        s = self.size / self.side
        return np.array([[s, 0.0, (0.5 - self.left) * s - 0.5], [0.0, s, (0.5 - self.top) * s - 0.5]])


def crop_box_around(pixels: np.ndarray, size: int, margin: float) -> CropBox:
    """The square crop around (N, 2) pixels (e.g. the projected body), grown by `margin` x its side."""
    pixels = np.asarray(pixels, np.float64)
    if pixels.ndim != 2 or pixels.shape[1] != 2 or len(pixels) == 0:
        raise ValueError(f"crop_box_around: argument 'pixels' expected shape (N, 2) with N > 0, got {pixels.shape}")
    low, high = pixels.min(axis=0) - 0.5, pixels.max(axis=0) + 0.5  # pixel edges
    side = float(max(high - low) * (1.0 + margin))
    center = 0.5 * (low + high)
    return CropBox(left=float(center[0] - side / 2), top=float(center[1] - side / 2), side=side, size=size)


def crop_image(image: np.ndarray, box: CropBox, nearest: bool = False) -> np.ndarray:
    """(H, W) or (H, W, C) image -> (size, size[, C]) crop; zeros outside the image.

    Bilinear by default (RGB, normal maps); `nearest` for label maps. Down-scaling is pre-filtered with a
    Gaussian so that thin structures do not alias.
    """
    import cv2

    image = np.asarray(image)
    scale = box.size / box.side
    if not nearest and scale < 0.5:
        sigma = 0.5 / scale
        image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigmaX=sigma, sigmaY=sigma)
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpAffine(image, box.affine(), (box.size, box.size), flags=flags, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)  # fmt: skip


@dataclass(frozen=True)
class PersonInputs:
    """Everything the network needs about B persons seen in V views, as tensors (float32 unless stated).

    Attributes:
        images: (B, V, 3, S, S) RGB crops in [0, 1], multiplied by `masks`.
        masks: (B, V, 1, S, S) 1 where the person is visible.
        unobserved: (B, V, 1, S, S) 1 where another person (or a pasted occluder) hides this one.
        body_normals: (B, V, 3, S, S) the body's global normal map (colours (n + 1) / 2; 0 off the body).
        cameras: CameraTensors of leading shape (B, V): the full cameras (distortion in full-image pixels).
        crop_affine: (B, V, 2, 3) full-image pixel -> crop pixel maps (`CropBox.affine`).
        body_voxels: (B, 1, G, G, G) body occupancy in its canonical cube (see implicit.body_volume).
        body_center: (B, 3) canonical cube centres, world, metres.
        body_rotation: (B, 3, 3) world -> canonical rotations.
        body_half_size: (B,) cube half sides, metres.
    """

    images: Tensor
    masks: Tensor
    unobserved: Tensor
    body_normals: Tensor
    cameras: CameraTensors
    crop_affine: Tensor
    body_voxels: Tensor
    body_center: Tensor
    body_rotation: Tensor
    body_half_size: Tensor

    def __post_init__(self) -> None:
        b, v, _, s, s2 = self.images.shape
        expected = {
            "images": (b, v, 3, s, s), "masks": (b, v, 1, s, s), "unobserved": (b, v, 1, s, s),
            "body_normals": (b, v, 3, s, s), "crop_affine": (b, v, 2, 3), "body_center": (b, 3),
            "body_rotation": (b, 3, 3), "body_half_size": (b,),
        }  # fmt: skip
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape) != shape:
                raise ValueError(f"PersonInputs.{name}: expected shape {shape}, got {tuple(getattr(self, name).shape)}")
        if s != s2 or tuple(self.cameras.batch_shape) != (b, v):
            raise ValueError(
                f"PersonInputs: expected square crops and cameras of leading shape {(b, v)}, got images "
                f"{tuple(self.images.shape)} and cameras {tuple(self.cameras.batch_shape)}"
            )
        g = self.body_voxels.shape[-1]
        if tuple(self.body_voxels.shape) != (b, 1, g, g, g):
            raise ValueError(f"PersonInputs.body_voxels: expected shape {(b, 1, g, g, g)}, got {tuple(self.body_voxels.shape)}")

    @property
    def batch_size(self) -> int:
        return self.images.shape[0]

    @property
    def num_views(self) -> int:
        return self.images.shape[1]

    @property
    def crop_size(self) -> int:
        return self.images.shape[-1]

    def to(self, device: torch.device | str) -> "PersonInputs":
        """The same inputs on `device`."""
        return replace(
            self,
            **{f.name: getattr(self, f.name).to(device=device) for f in fields(self) if f.name != "cameras"},
            cameras=self.cameras.to(device=device),
        )

    def select_views(self, index: Tensor | Sequence[int]) -> "PersonInputs":
        """A subset or permutation of the views (index (V',) into dim 1)."""
        index = torch.as_tensor(index, dtype=torch.long, device=self.images.device)
        per_view = ("images", "masks", "unobserved", "body_normals", "crop_affine")
        cams = self.cameras
        return replace(
            self,
            **{name: getattr(self, name)[:, index] for name in per_view},
            cameras=CameraTensors(cams.K[:, index], cams.dist[:, index], cams.R[:, index], cams.t[:, index]),
        )

    @staticmethod
    def stack(items: Sequence["PersonInputs"]) -> "PersonInputs":
        """Concatenate persons along B (all with the same V, S and G)."""
        merged = {
            f.name: torch.cat([getattr(item, f.name) for item in items]) for f in fields(PersonInputs) if f.name != "cameras"
        }
        cams = [item.cameras for item in items]
        stacked = CameraTensors(*(torch.cat([getattr(c, k) for c in cams]) for k in ("K", "dist", "R", "t")))
        return PersonInputs(**merged, cameras=stacked)


def to_unit_cube(inputs: PersonInputs, points: Tensor) -> Tensor:
    """(B, N, 3) world points -> (B, N, 3) coordinates in each body's canonical unit cube."""
    local = (points - inputs.body_center[:, None]) @ inputs.body_rotation.transpose(1, 2)
    return local / inputs.body_half_size[:, None, None]


@dataclass(frozen=True)
class ViewProjection:
    """Query points seen from every view.

    Attributes:
        grid: (B, V, N, 2) grid_sample coordinates in the crop (x, y in [-1, 1] inside it).
        depth_norm: (B, V, N) camera depth minus the depth of the body cube centre, over the cube half side.
        valid: (B, V, N) bool: in front of the camera, inside the crop and not on an unobserved pixel.
    """

    grid: Tensor
    depth_norm: Tensor
    valid: Tensor


def project_to_crops(inputs: PersonInputs, points: Tensor) -> ViewProjection:
    """Project (B, N, 3) world points into every view's crop (full camera with distortion, then the crop map)."""
    if points.dim() != 3 or points.shape[0] != inputs.batch_size or points.shape[-1] != 3:
        raise ValueError(f"project_to_crops: argument 'points' expected shape ({inputs.batch_size}, N, 3), got {tuple(points.shape)}")
    cams = inputs.cameras
    pixels, depth = project_points_with_depth(points[:, None], cams.K, cams.dist, cams.R, cams.t)  # (B, V, N, 2), (B, V, N)
    affine = inputs.crop_affine
    crop_pixels = pixels @ affine[..., :2].transpose(-1, -2) + affine[..., None, :, 2]
    grid = (crop_pixels + 0.5) / inputs.crop_size * 2.0 - 1.0
    center_depth = (inputs.body_center[:, None, None] @ cams.R.transpose(-1, -2)).squeeze(-2)[..., 2] + cams.t[..., 2]
    depth_norm = (depth - center_depth[..., None]) / inputs.body_half_size[:, None, None]
    unobserved = sample_views(inputs.unobserved, grid)[..., 0]
    inside = (grid.abs() <= 1.0).all(dim=-1) & (depth > 0)
    return ViewProjection(grid=grid, depth_norm=depth_norm, valid=inside & (unobserved < 0.5))


def sample_views(maps: Tensor, grid: Tensor) -> Tensor:
    """Bilinear samples of per-view maps: maps (B, V, C, h, w), grid (B, V, N, 2) -> (B, V, N, C); 0 outside."""
    b, v, c, h, w = maps.shape
    flat = grid.reshape(b * v, -1, 1, 2).to(maps.dtype)
    sampled = F.grid_sample(maps.reshape(b * v, c, h, w), flat, mode="bilinear", padding_mode="zeros", align_corners=False)
    return sampled[..., 0].transpose(1, 2).reshape(b, v, -1, c)
