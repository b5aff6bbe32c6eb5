"""The DeepMultiCap network: a coarse level (images + body volume, multi-view attention) and a fine level
(predicted normal maps + body global normal maps, one attention layer, coarse embedding); see docs/network.md.

    model = DeepMultiCap(small_config())
    out = model(inputs, points)            # inputs: PersonInputs (B persons, V views); points (B, N, 3) world
    out.coarse_logits, out.fine_logits     # (B, N) occupancy logits; sigmoid -> inside probability
    encoding = model.encode(inputs)        # the views encoded once; model.query(encoding, points) per point set
    occupancy = predict_occupancy(model, inputs, points_np)   # (N,) in [0, 1], chunked, no gradients
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from implicit.attention import ViewFusion
from implicit.body_volume import BodyVolumeEncoder, sample_volume
from implicit.config import Config
from implicit.features import PersonInputs, ViewProjection, project_to_crops, sample_views, to_unit_cube
from implicit.hourglass import StackedHourglass
from implicit.meshing import OccupancyFn
from implicit.normal_net import NormalNet


class SkipMLP(nn.Module):
    """Occupancy MLP: (..., C_in) -> ((...,) logit, (..., hidden[-1]) embedding); hidden layers after the first
    also receive the input (skip connections, as PIFu's res_layers)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        layers, width = [], in_dim
        for i, out in enumerate(hidden):
            layers.append(nn.Linear(width + (in_dim if i > 0 else 0), out))
            width = out
        self.layers = nn.ModuleList(layers)
        self.out = nn.Linear(width, 1)
        self.activation = nn.LeakyReLU(0.1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = x
        for i, layer in enumerate(self.layers):
            h = self.activation(layer(h if i == 0 else torch.cat([h, x], dim=-1)))
        return self.out(h)[..., 0], h


def encoder_inputs(inputs: PersonInputs, first: Tensor, use_global_normals: bool) -> Tensor:
    """(B * V, C, S, S) image-encoder input: `first` (B, V, C0, S, S), [global normal map], mask, unobserved."""
    parts = [first] + ([inputs.body_normals] if use_global_normals else []) + [inputs.masks, inputs.unobserved]
    stacked = torch.cat(parts, dim=2)
    return stacked.flatten(0, 1)


def tokens_from(view_features: Tensor, projection: ViewProjection, extra: Tensor | None) -> Tensor:
    """(B, V, N, C) image features + depth (+ (B, N, C') point features) -> (B, N, V, C + 1 [+ C'])."""
    parts = [view_features, projection.depth_norm[..., None]]
    if extra is not None:
        parts.append(extra[:, None].expand(-1, view_features.shape[1], -1, -1))
    return torch.cat(parts, dim=-1).transpose(1, 2)


@dataclass
class CoarseEncoding:
    """Per-person coarse feature maps: image (B, V, C, S/4, S/4) and body volume (B, C_b, G_f, G_f, G_f) or None."""

    image: Tensor
    body: Tensor | None


class CoarseLevel(nn.Module):
    """Coarse level: hourglass image features + point depth + body volume features -> view fusion -> MLP."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        c, i = config.coarse, config.inputs
        self.use_global_normals = i.use_global_normals
        in_channels = 3 + (3 if i.use_global_normals else 0) + 2
        self.image_encoder = StackedHourglass(in_channels, c.channels, c.stacks, c.depth, downsample=True)
        self.body_encoder = BodyVolumeEncoder(c.body_grid, c.body_feature_grid, c.body_channels) if i.use_body_volume else None
        token_in = c.channels + 1 + (c.body_channels if i.use_body_volume else 0)
        self.token = nn.Sequential(nn.Linear(token_in, c.token_dim), nn.ReLU())
        self.fusion = ViewFusion(c.token_dim, c.attention_layers, c.heads, c.fusion)
        self.mlp = SkipMLP(c.token_dim, c.mlp)
        self.embedding_dim = c.mlp[-1]

    def encode(self, inputs: PersonInputs) -> CoarseEncoding:
        b, v = inputs.batch_size, inputs.num_views
        image = self.image_encoder(encoder_inputs(inputs, inputs.images, self.use_global_normals))
        body = self.body_encoder(inputs.body_voxels) if self.body_encoder is not None else None
        return CoarseEncoding(image=image.reshape(b, v, *image.shape[1:]), body=body)

    def query(self, encoding: CoarseEncoding, inputs: PersonInputs, points: Tensor, projection: ViewProjection
              ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """(B, N, 3) world points -> ((B, N) logits, (B, N, E) embedding)."""
        body = None if encoding.body is None else sample_volume(encoding.body, to_unit_cube(inputs, points))
        tokens = self.token(tokens_from(sample_views(encoding.image, projection.grid), projection, body))
        return self.mlp(self.fusion(tokens, projection.valid.transpose(1, 2)))


class FineLevel(nn.Module):
    """Fine level: normal net -> shallow full-resolution hourglass (normals + global normal map) -> one attention
    layer -> MLP on the fused token and the coarse embedding."""

    def __init__(self, config: Config, coarse_embedding_dim: int) -> None:
        super().__init__()
        f, i = config.fine, config.inputs
        self.use_global_normals = i.use_global_normals
        self.normal_net = NormalNet(f.normal_channels, f.normal_downsamples, f.normal_blocks)
        in_channels = 3 + (3 if i.use_global_normals else 0) + 2
        self.encoder = StackedHourglass(in_channels, f.channels, 1, f.depth, downsample=False)
        self.token = nn.Sequential(nn.Linear(f.channels + 1, f.token_dim), nn.ReLU())
        self.fusion = ViewFusion(f.token_dim, f.attention_layers, f.heads, config.coarse.fusion)
        self.mlp = SkipMLP(f.token_dim + coarse_embedding_dim, f.mlp)

    def predict_normals(self, inputs: PersonInputs) -> Tensor:
        """(B, V, 3, S, S) predicted front normal maps, camera frame (see implicit.normal_net)."""
        b, v = inputs.batch_size, inputs.num_views
        normals = self.normal_net(inputs.images.flatten(0, 1), inputs.masks.flatten(0, 1))
        return normals.reshape(b, v, *normals.shape[1:])

    def encode(self, inputs: PersonInputs, normals: Tensor) -> Tensor:
        """(B, V, 3, S, S) normals -> (B, V, C_f, S, S) fine feature maps."""
        features = self.encoder(encoder_inputs(inputs, normals, self.use_global_normals))
        return features.reshape(inputs.batch_size, inputs.num_views, *features.shape[1:])

    def query(self, features: Tensor, projection: ViewProjection, coarse_embedding: Tensor) -> Tensor:
        """(B, N, E) coarse embedding at the points -> (B, N) fine logits."""
        tokens = self.token(tokens_from(sample_views(features, projection.grid), projection, None))
        fused = self.fusion(tokens, projection.valid.transpose(1, 2))
        return self.mlp(torch.cat([fused, coarse_embedding], dim=-1))[0]


@dataclass
class NetworkOutput:
    """Outputs for B persons and N points: logits (B, N) (sigmoid = inside probability), coarse embedding
    (B, N, E), predicted normals (B, V, 3, S, S) and fine logits (B, N) (None without the fine level)."""

    coarse_logits: Tensor
    coarse_embedding: Tensor
    normals: Tensor | None = None
    fine_logits: Tensor | None = None

    @property
    def logits(self) -> Tensor:
        """The finest available logits (B, N)."""
        return self.fine_logits if self.fine_logits is not None else self.coarse_logits


@dataclass
class PersonEncoding:
    """What the network computes once per person (`DeepMultiCap.encode`): the inputs, the coarse feature maps
    and, with the fine level, predicted normals (B, V, 3, S, S) and fine feature maps (B, V, C_f, S, S)."""

    inputs: PersonInputs
    coarse: CoarseEncoding
    normals: Tensor | None = None
    fine_features: Tensor | None = None


class DeepMultiCap(nn.Module):
    """Both levels from one `Config`; the fine level exists only when `config.fine.enabled`."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.coarse = CoarseLevel(config)
        self.fine = FineLevel(config, self.coarse.embedding_dim) if config.fine.enabled else None

    def encode(self, inputs: PersonInputs, fine: bool = True) -> PersonEncoding:
        """Encode B persons' views once (`fine=False` leaves the fine level out)."""
        encoding = PersonEncoding(inputs, self.coarse.encode(inputs))
        if fine and self.fine is not None:
            encoding.normals = self.fine.predict_normals(inputs)
            encoding.fine_features = self.fine.encode(inputs, encoding.normals)
        return encoding

    def query(self, encoding: PersonEncoding, points: Tensor) -> NetworkOutput:
        """(B, N, 3) world points -> NetworkOutput (fine logits when the encoding holds the fine level)."""
        projection = project_to_crops(encoding.inputs, points)
        logits, embedding = self.coarse.query(encoding.coarse, encoding.inputs, points, projection)
        out = NetworkOutput(coarse_logits=logits, coarse_embedding=embedding, normals=encoding.normals)
        if encoding.fine_features is not None:
            out.fine_logits = self.fine.query(encoding.fine_features, projection, embedding)
        return out

    def forward(self, inputs: PersonInputs, points: Tensor, fine: bool = True) -> NetworkOutput:
        """(B, N, 3) world points -> NetworkOutput (`fine=False` skips the fine level)."""
        return self.query(self.encode(inputs, fine), points)


@torch.no_grad()
def occupancy_function(model: DeepMultiCap, inputs: PersonInputs, chunk: int | None = None, fine: bool = True) -> OccupancyFn:
    """Encode one person's views once; return f: (N, 3) world points (numpy, metres) -> (N,) float32 occupancy.

    `inputs` must hold one person (B = 1); points are evaluated `chunk` at a time (default: the config's
    train.query_chunk) on the model's device, in eval mode.
    """
    if inputs.batch_size != 1:
        raise ValueError(f"occupancy_function: expected inputs of one person (B = 1), got B = {inputs.batch_size}")
    model.eval()
    return encoded_occupancy_function(model, model.encode(inputs.to(next(model.parameters()).device), fine), chunk)


def encoded_occupancy_function(model: DeepMultiCap, encoding: PersonEncoding, chunk: int | None = None) -> OccupancyFn:
    """`occupancy_function` from an encoding of one person already made by `model.encode` on the model's device
    (its finest level is evaluated)."""
    if encoding.inputs.batch_size != 1:
        raise ValueError(f"encoded_occupancy_function: expected the encoding of one person (B = 1), got B = "
                         f"{encoding.inputs.batch_size}")  # fmt: skip
    device = next(model.parameters()).device
    chunk = chunk or model.config.train.query_chunk

    @torch.no_grad()
    def evaluate(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"occupancy function: argument 'points' expected shape (N, 3), got {points.shape}")
        out = np.empty(len(points), np.float32)
        for start in range(0, len(points), chunk):
            p = torch.as_tensor(points[start : start + chunk], dtype=torch.float32, device=device)[None]
            out[start : start + len(p[0])] = torch.sigmoid(model.query(encoding, p).logits[0]).cpu().numpy()
        return out

    return evaluate


def predict_occupancy(model: DeepMultiCap, inputs: PersonInputs, points: np.ndarray, chunk: int | None = None,
                      fine: bool = True) -> np.ndarray:  # fmt: skip
    """(N, 3) world points -> (N,) occupancy in [0, 1] for one person (B = 1), in chunks, without gradients."""
    return occupancy_function(model, inputs, chunk, fine)(points)


def parameter_counts(model: DeepMultiCap) -> dict[str, int]:
    """Parameters per submodule (coarse image encoder, body encoder, fusion, MLPs, normal net...) and 'total'."""
    counts: dict[str, int] = {}
    for level_name, level in (("coarse", model.coarse), ("fine", model.fine)):
        if level is None:
            continue
        for name, module in level.named_children():
            counts[f"{level_name}.{name}"] = sum(p.numel() for p in module.parameters())
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts
