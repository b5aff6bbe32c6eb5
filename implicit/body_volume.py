"""The body volume: the fitted body in a canonical cube, voxelised, encoded by a small 3D ResNet, sampled at points.

Convention (canonical body cube, as in PIFu / DeepMultiCap: y up, the body facing +z):
    The world is z-up and a body faces -y in its own frame, so its facing direction in the world is
    f = R_global @ (0, -1, 0). The canonical frame keeps the world's up axis and turns only about it (yaw), so
    the body stays upright and its pose (a lean, a bend) stays in the volume:
        z_c = f with its vertical part removed, normalised   (the body faces +z_c)
        y_c = world up (0, 0, 1)
        x_c = y_c x z_c                                       (the body's left; right-handed)
    `BodyFrame.rotation` has rows (x_c, y_c, z_c): world -> canonical. The cube is centred at the centre of the
    posed body's bounding box, with half side `half_size` metres (>= the config's minimum, grown by 5 % around
    larger bodies). Unit coordinates u = rotation @ (p - center) / half_size lie in [-1, 1]^3 inside the cube.
    Volumes are indexed volume[..., k_z, k_y, k_x] (depth = z_c), which is what F.grid_sample expects for a
    grid of (x, y, z) = u; voxel centres sit at u = (2 k + 1) / G - 1 (align_corners=False).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from render.mesh import raycasting_scene

UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class BodyFrame:
    """The canonical cube of one body (see the module's convention).

    Attributes:
        center: (3,) cube centre, world, metres.
        rotation: (3, 3) world -> canonical rotation (rows x_c, y_c, z_c).
        half_size: half side of the cube, metres.
    """

    center: np.ndarray
    rotation: np.ndarray
    half_size: float

    def to_unit(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 3) unit cube coordinates (in [-1, 1]^3 inside the cube)."""
        return (np.asarray(points, np.float64) - self.center) @ self.rotation.T / self.half_size

    def to_world(self, unit: np.ndarray) -> np.ndarray:
        """(N, 3) unit cube coordinates -> (N, 3) world points, metres."""
        return np.asarray(unit, np.float64) * self.half_size @ self.rotation + self.center

    def matrix(self) -> np.ndarray:
        """(4, 4) world -> unit cube similarity transform, float64."""
        m = np.eye(4)
        m[:3, :3] = self.rotation / self.half_size
        m[:3, 3] = -self.rotation @ self.center / self.half_size
        return m

    def world_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """((3,), (3,)) world axis-aligned box around the cube (a meshing / uniform-sampling box)."""
        corners = self.to_world(np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T)
        return corners.min(axis=0), corners.max(axis=0)


def canonical_frame(vertices: np.ndarray, global_rotation: np.ndarray, min_half_size: float) -> BodyFrame:
    """The canonical cube of a posed body.

    Args:
        vertices: (N, 3) posed body vertices, world, metres.
        global_rotation: (3, 3) the body's global rotation (body frame -> world), e.g. from BodyParams.global_rot_aa.
        min_half_size: smallest half side of the cube, metres.
    """
    vertices = np.asarray(vertices, np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise ValueError(f"canonical_frame: argument 'vertices' expected shape (N, 3), got {vertices.shape}")
    facing = np.asarray(global_rotation, np.float64) @ np.array([0.0, -1.0, 0.0])
    facing[2] = 0.0
    norm = np.linalg.norm(facing)
    z_c = facing / norm if norm > 1e-3 else np.array([0.0, -1.0, 0.0])  # lying bodies: face world -y
    x_c = np.cross(UP, z_c)
    rotation = np.stack([x_c, UP, z_c])
    center = 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))
    extent = np.abs((vertices - center) @ rotation.T).max()
    return BodyFrame(center=center, rotation=rotation, half_size=float(max(min_half_size, 1.05 * extent)))


def voxel_centers(grid: int) -> np.ndarray:
    """(G, G, G, 3) unit coordinates (x, y, z) of the voxel centres, indexed [k_z, k_y, k_x]."""
    u = (2.0 * np.arange(grid) + 1.0) / grid - 1.0
    z, y, x = np.meshgrid(u, u, u, indexing="ij")
    return np.stack([x, y, z], axis=-1)


def voxelize(vertices: np.ndarray, faces: np.ndarray, frame: BodyFrame, grid: int) -> np.ndarray:
    """(G, G, G) float32 occupancy (0 / 1) of a watertight body mesh in its canonical cube, indexed [k_z, k_y, k_x].

    Inside / outside by ray parity (Open3D RaycastingScene, 3 rays voted per voxel centre).
    """
    import open3d as o3d

    world = frame.to_world(voxel_centers(grid).reshape(-1, 3)).astype(np.float32)
    occupancy = raycasting_scene(vertices, faces).compute_occupancy(o3d.core.Tensor(world), nsamples=3).numpy()
    return occupancy.reshape(grid, grid, grid).astype(np.float32)


def sample_volume(volume: Tensor, unit_points: Tensor) -> Tensor:
    """Trilinear features at points: volume (B, C, D, D, D), unit_points (B, N, 3) -> (B, N, C); 0 outside the cube."""
    grid = unit_points[:, :, None, None, :].to(volume.dtype)  # (B, N, 1, 1, 3)
    sampled = F.grid_sample(volume, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return sampled[:, :, :, 0, 0].transpose(1, 2)


class ResBlock3d(nn.Module):
    """Pre-activated 3D residual block, optionally stride 2: (B, C_in, D, D, D) -> (B, C_out, D / s, D / s, D / s)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.GroupNorm(min(8, in_channels), in_channels),
            nn.ReLU(),
            nn.Conv3d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.GroupNorm(min(8, out_channels), out_channels),
            nn.ReLU(),
            nn.Conv3d(out_channels, out_channels, 3, padding=1, bias=False),
        )
        self.skip = (
            nn.Identity()
            if in_channels == out_channels and stride == 1
            else nn.Conv3d(in_channels, out_channels, 1, stride=stride, bias=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.skip(x)


class BodyVolumeEncoder(nn.Module):
    """Body occupancy (B, 1, G, G, G) -> feature volume (B, channels, G_f, G_f, G_f), G / G_f a power of two."""

    def __init__(self, grid: int, feature_grid: int, channels: int) -> None:
        super().__init__()
        steps = int(round(np.log2(grid // feature_grid)))
        stem = max(8, channels // 2)
        blocks: list[nn.Module] = [nn.Conv3d(1, stem, 3, padding=1)]
        width = stem
        for _ in range(steps):
            blocks.append(ResBlock3d(width, channels, stride=2))
            width = channels
        blocks += [ResBlock3d(width, channels, stride=1), nn.GroupNorm(min(8, channels), channels), nn.ReLU()]
        self.net = nn.Sequential(*blocks)
        self.grid = grid

    def forward(self, voxels: Tensor) -> Tensor:
        if voxels.dim() != 5 or voxels.shape[1] != 1 or tuple(voxels.shape[2:]) != (self.grid,) * 3:
            raise ValueError(
                f"BodyVolumeEncoder: argument 'voxels' expected shape (B, 1, {self.grid}, {self.grid}, {self.grid}), "
                f"got {tuple(voxels.shape)}"
            )
        return self.net(voxels)
