"""The normal-map network (pix2pixHD's global generator, small): a person's masked crop -> its front normal map.

Input (B, 4, H, W): masked RGB in [0, 1] and the person mask. Output (B, 3, H, W): unit normals in the camera
frame (OpenCV axes: x right, y down, z forward; surfaces facing the camera have n_z < 0), as `render` writes them
in RenderOutput.normal; zero outside the person mask. H and W must be multiples of 2**downsamples.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from implicit.hourglass import group_norm

NORMAL_NET_INPUTS = 4
"""Input channels of the normal network: RGB + person mask."""


class ResBlock(nn.Module):
    """Two 3x3 convs with reflection padding and a residual connection, channels unchanged."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), group_norm(channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), group_norm(channels),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class NormalNet(nn.Module):
    """Encoder (7x7 conv, `downsamples` stride-2 convs doubling channels), `blocks` residual blocks, mirrored decoder."""

    def __init__(self, channels: int, downsamples: int, blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(NORMAL_NET_INPUTS, channels, 7), group_norm(channels), nn.ReLU()
        ]  # fmt: skip
        width = channels
        for _ in range(downsamples):
            layers += [nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), group_norm(2 * width), nn.ReLU()]
            width *= 2
        layers += [ResBlock(width) for _ in range(blocks)]
        for _ in range(downsamples):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                group_norm(width // 2),
                nn.ReLU(),
            ]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, 3, 7)]
        self.net = nn.Sequential(*layers)

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        """image (B, 3, H, W) in [0, 1], mask (B, 1, H, W) in {0, 1} -> (B, 3, H, W) unit normals, 0 off the mask."""
        raw = self.net(torch.cat([image * mask, mask], dim=1))
        return F.normalize(raw, dim=1) * mask
