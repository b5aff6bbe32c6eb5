"""Multi-view fusion of per-point view tokens: self-attention (DeepMultiCap) or per-view layers + mean (PIFu).

Tokens are (B, N, V, D): for each of the N query points of each of B persons, one D-dim token per view. `valid`
(B, N, V) marks the views that see the point (inside the crop, not occluded by another person). Invalid views
are excluded as attention keys and from the final masked mean, so the fused token equals the fusion of the valid
subset alone. A point that no view sees falls back to all V views (the network then relies on the body volume
and depth, which every token carries). No positional encoding: the output does not depend on the view order.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn


class FeedForward(nn.Module):
    """A pre-norm residual MLP applied to each token alone: (..., D) -> (..., D)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class ViewFusion(nn.Module):
    """(B, N, V, D) view tokens + (B, N, V) validity -> (B, N, D) one fused token per point.

    Args:
        dim: token width D.
        layers: encoder layers.
        heads: attention heads (ignored by 'mean').
        mode: 'attention' = a pre-norm Transformer encoder over the views (keys masked by validity), then the
            masked mean; 'mean' = the same number of per-view feed-forward layers, then the masked mean.
    """

    def __init__(self, dim: int, layers: int, heads: int, mode: Literal["attention", "mean"]) -> None:
        super().__init__()
        self.mode = mode
        if mode == "attention":
            layer = nn.TransformerEncoderLayer(
                dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True, norm_first=True
            )
            self.encoder: nn.Module = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        elif mode == "mean":
            self.encoder = nn.Sequential(*[FeedForward(dim, 2 * dim) for _ in range(layers)])
        else:
            raise ValueError(f"ViewFusion: argument 'mode' expected 'attention' or 'mean', got {mode!r}")
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: Tensor, valid: Tensor) -> Tensor:
        if tokens.dim() != 4 or valid.shape != tokens.shape[:3]:
            raise ValueError(
                f"ViewFusion: expected tokens (B, N, V, D) and valid (B, N, V), got {tuple(tokens.shape)} and "
                f"{tuple(valid.shape)}"
            )
        b, n, v, d = tokens.shape
        valid = valid | ~valid.any(dim=-1, keepdim=True)  # no valid view -> use them all
        flat = tokens.reshape(b * n, v, d)
        if self.mode == "attention":
            mixed = self.encoder(flat, src_key_padding_mask=~valid.reshape(b * n, v))
        else:
            mixed = self.encoder(flat)
        weights = valid.reshape(b * n, v, 1).to(mixed.dtype)
        fused = (mixed * weights).sum(dim=1) / weights.sum(dim=1)
        return self.norm(fused).reshape(b, n, d)
