"""Stacked hourglass image encoders (PIFu's HGFilter, with group norm): coarse at 1/4 and shallow at full resolution.

Shapes: input (B, C_in, H, W) -> features (B, channels, H / 4, W / 4) (coarse, `downsample=True`) or
(B, channels, H, W) (fine). H and W must be multiples of 2**(depth + 2) (coarse) or 2**depth (fine).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def group_norm(channels: int) -> nn.GroupNorm:
    """Group norm with up to 32 groups that divide `channels`."""
    return nn.GroupNorm(math.gcd(channels, 32), channels)


class ConvBlock(nn.Module):
    """PIFu's residual block: three pre-activated 3x3 convs of out/2, out/4, out/4 channels, concatenated."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        half, quarter = out_channels // 2, out_channels - out_channels // 2 - out_channels // 4
        widths = (half, out_channels // 4, quarter)
        self.norms = nn.ModuleList([group_norm(in_channels), group_norm(half), group_norm(widths[1])])
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(in_channels, half, 3, padding=1, bias=False),
                nn.Conv2d(half, widths[1], 3, padding=1, bias=False),
                nn.Conv2d(widths[1], quarter, 3, padding=1, bias=False),
            ]
        )
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(group_norm(in_channels), nn.ReLU(), nn.Conv2d(in_channels, out_channels, 1, bias=False))
        )

    def forward(self, x: Tensor) -> Tensor:
        outputs, h = [], x
        for norm, conv in zip(self.norms, self.convs):
            h = conv(F.relu(norm(h)))
            outputs.append(h)
        return torch.cat(outputs, dim=1) + self.skip(x)


class Hourglass(nn.Module):
    """One hourglass of `depth` levels: (B, C, H, W) -> (B, C, H, W), H and W multiples of 2**depth."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.up = ConvBlock(channels, channels)
        self.down = ConvBlock(channels, channels)
        self.inner = Hourglass(channels, depth - 1) if depth > 1 else ConvBlock(channels, channels)
        self.out = ConvBlock(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        low = self.out(self.inner(self.down(F.avg_pool2d(x, 2))))
        return self.up(x) + F.interpolate(low, scale_factor=2.0, mode="nearest")


class StackedHourglass(nn.Module):
    """A stem, then `stacks` hourglasses with intermediate merges; returns the last stack's features.

    Args:
        in_channels: input channels (e.g. RGB + global normal map + mask + unobserved = 8).
        channels: feature channels.
        stacks: number of hourglasses.
        depth: levels per hourglass.
        downsample: True = PIFu stem (7x7 stride-2 conv, block, 2x average pool: features at 1/4 resolution);
            False = a 3x3 conv and a block at full resolution (the fine level's shallow encoder).
    """

    def __init__(self, in_channels: int, channels: int, stacks: int, depth: int, downsample: bool) -> None:
        super().__init__()
        if downsample:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, channels, 7, stride=2, padding=3),
                group_norm(channels),
                nn.ReLU(),
                ConvBlock(channels, channels),
                nn.AvgPool2d(2),
                ConvBlock(channels, channels),
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, channels, 3, padding=1), group_norm(channels), nn.ReLU(), ConvBlock(channels, channels)
            )
        self.hourglasses = nn.ModuleList([Hourglass(channels, depth) for _ in range(stacks)])
        self.heads = nn.ModuleList(
            [
                nn.Sequential(ConvBlock(channels, channels), nn.Conv2d(channels, channels, 1), group_norm(channels), nn.ReLU())
                for _ in range(stacks)
            ]
        )
        self.merges = nn.ModuleList([nn.Conv2d(channels, channels, 1) for _ in range(stacks - 1)])
        self.scale = 4 if downsample else 1

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, channels, H / scale, W / scale)."""
        h = self.stem(x)
        out = h
        for i, (hourglass, head) in enumerate(zip(self.hourglasses, self.heads)):
            out = head(hourglass(h))
            if i < len(self.merges):
                h = h + self.merges[i](out)
        return out
