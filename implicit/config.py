"""Configurations of the DeepMultiCap network and its training: dataclasses, one docstring line per field.

Presets: `small_config()` (trains on a 2-core CPU), `full_config()` (the paper's / official code's sizes, GPU) and
`tiny_config()` (tests). `with_ablation(config, name)` switches off one ingredient for the evaluation's ablations.
Runtime values (device, data folders) are not stored here; they are arguments of the training entry points.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

Fusion = Literal["attention", "mean"]
Ablation = Literal["none", "mean_pooling", "no_body_volume", "no_global_normals", "coarse_only", "pifu_like"]
ABLATIONS: tuple[str, ...] = Ablation.__args__


class ConfigError(ValueError):
    """An invalid configuration value; the message names the field and says expected vs received."""


@dataclass(frozen=True)
class CoarseConfig:
    """The coarse level: hourglass image encoder, body volume encoder, multi-view fusion, occupancy MLP."""

    stacks: int = 4
    """Number of stacked hourglasses in the image encoder."""
    channels: int = 256
    """Feature channels of the hourglasses (the per-pixel image feature size)."""
    depth: int = 4
    """Down-sampling levels inside each hourglass."""
    body_grid: int = 128
    """Voxels per side of the body occupancy volume (input of the 3D encoder)."""
    body_feature_grid: int = 32
    """Cells per side of the body feature volume (output of the 3D encoder); body_grid / body_feature_grid must be
    a power of two."""
    body_channels: int = 64
    """Channels of the body feature volume."""
    token_dim: int = 256
    """Width of a view token after the input projection (image feature + depth + body feature -> token_dim)."""
    fusion: Fusion = "attention"
    """How view tokens are fused at both levels: self-attention then masked mean, or per-view feed-forward then
    masked mean (the 'mean_pooling' ablation)."""
    attention_layers: int = 2
    """Self-attention encoder layers (also the number of feed-forward layers of the 'mean' fusion)."""
    heads: int = 8
    """Attention heads; token_dim must be divisible by it."""
    mlp: tuple[int, ...] = (1024, 512, 256, 128)
    """Hidden widths of the occupancy MLP; each hidden layer also receives the fused token (skip input)."""


@dataclass(frozen=True)
class FineConfig:
    """The fine level: normal-map network, shallow hourglass over normals, one attention layer, smaller MLP."""

    enabled: bool = True
    """False = coarse only (no normal network, no fine MLP)."""
    normal_channels: int = 64
    """Base channels of the pix2pixHD-style normal-map network."""
    normal_downsamples: int = 3
    """Stride-2 down-sampling steps of the normal-map network."""
    normal_blocks: int = 6
    """Residual blocks at the bottleneck of the normal-map network."""
    channels: int = 32
    """Channels of the shallow fine hourglass (per-pixel fine feature size)."""
    depth: int = 2
    """Down-sampling levels of the fine hourglass."""
    token_dim: int = 64
    """Width of a fine view token."""
    attention_layers: int = 1
    """Self-attention layers of the fine fusion."""
    heads: int = 4
    """Attention heads of the fine fusion."""
    mlp: tuple[int, ...] = (512, 256, 128)
    """Hidden widths of the fine occupancy MLP (input: fused fine token + coarse embedding)."""


@dataclass(frozen=True)
class InputConfig:
    """What the network sees: crop size, body canonicalisation, which input channels exist."""

    crop_size: int = 512
    """Side in pixels of the square person crop fed to both levels."""
    crop_margin: float = 0.1
    """Extra border around the person's box in the crop, as a fraction of the box side."""
    cube_half_size: float = 1.1
    """Minimal half side in metres of the canonical body cube (grown to hold larger bodies)."""
    use_body_volume: bool = True
    """Use the body volume features in the coarse tokens (False = ablation 'no_body_volume')."""
    use_global_normals: bool = True
    """Feed the body global normal map to the image encoders (False = ablation 'no_global_normals')."""


@dataclass(frozen=True)
class SamplingConfig:
    """Training point sampling and occlusion augmentation."""

    points: int = 8000
    """Query points per person per step (balanced inside / outside)."""
    sigma_visible: float = 0.01
    """Std of the Gaussian offset (metres) around surface samples visible in some view."""
    sigma_hidden: float = 0.05
    """Std of the Gaussian offset (metres) around surface samples visible in no view."""
    uniform_fraction: float = 0.2
    """Share of the candidates drawn uniformly in the person's box (padded by box_padding)."""
    box_padding: float = 0.1
    """Padding in metres around the ground-truth mesh's box for uniform samples."""
    visibility_tolerance: float = 0.02
    """A surface sample is visible in a view when its depth is within this many metres of the rendered depth."""
    occluder_probability: float = 0.5
    """Per view, probability of pasting another person's silhouette into the masks (augmentation)."""
    blob_probability: float = 0.3
    """Per view, probability of pasting a random elliptic blob into the masks (augmentation)."""
    other_people_fraction: float = 0.1
    """Share of the points drawn around the other people of the scene (inside and near them, within
    other_people_reach of this person), labelled against this person: teaches that space another person fills,
    which every view sees as 'unobserved', is not this person's."""
    other_people_reach: float = 0.3
    """Metres around this person's ground-truth box within which the other people's points are kept."""


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation schedule; steps count persons (one person = one batch)."""

    coarse_steps: int = 20000
    """Steps of the coarse stage (coarse level and normal network)."""
    fine_steps: int = 10000
    """Steps of the fine stage (coarse level and normal network frozen); ignored when the fine level is off."""
    learning_rate: float = 1e-4
    """Adam learning rate at the start of each stage."""
    final_learning_rate_fraction: float = 1.0
    """Cosine decay within each stage down to learning_rate times this at the stage's last step (1 = constant)."""
    gradient_clip: float = 1.0
    """Largest global gradient norm per step (gradients are scaled down beyond it)."""
    normal_loss_weight: float = 1.0
    """Weight of the normal-map loss (L1 + cosine) in the coarse stage."""
    log_every: int = 50
    """Log loss and occupancy IoU every this many steps."""
    checkpoint_every: int = 500
    """Write a checkpoint every this many steps (and at the end)."""
    validate_every: int = 500
    """Evaluate the held-out validation people every this many steps (and at the end), when they are given."""
    query_chunk: int = 20000
    """Points per forward pass at inference (memory bound)."""
    seed: int = 0
    """Seed of the data sampling and initialisation."""


@dataclass(frozen=True)
class Config:
    """The whole experiment: one name plus the sections above."""

    name: str = "full"
    """Preset name, recorded in checkpoints."""
    inputs: InputConfig = field(default_factory=InputConfig)
    """Network inputs."""
    coarse: CoarseConfig = field(default_factory=CoarseConfig)
    """Coarse level."""
    fine: FineConfig = field(default_factory=FineConfig)
    """Fine level."""
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    """Training samples."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation."""

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists), for checkpoints and JSON."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        """Inverse of `to_dict`; unknown keys raise ConfigError."""
        sections = {"inputs": InputConfig, "coarse": CoarseConfig, "fine": FineConfig, "sampling": SamplingConfig,
                    "train": TrainConfig}  # fmt: skip
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key == "name":
                kwargs[key] = value
            elif key in sections:
                kind = sections[key]
                names = {f.name for f in dataclasses.fields(kind)}
                unknown = set(value) - names
                if unknown:
                    raise ConfigError(f"config.{key}: unknown fields {sorted(unknown)}; expected a subset of {sorted(names)}")
                kwargs[key] = kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
            else:
                raise ConfigError(f"config: unknown section {key!r}; expected name or one of {sorted(sections)}")
        return cls(**kwargs)


def validate(config: Config) -> None:
    """Raise ConfigError for inconsistent sizes or unknown choices."""
    c, f = config.coarse, config.fine
    if c.fusion not in Fusion.__args__:
        raise ConfigError(f"coarse.fusion: expected one of {Fusion.__args__}, got {c.fusion!r}")
    for name, dim, heads in (("coarse", c.token_dim, c.heads), ("fine", f.token_dim, f.heads)):
        if dim % heads:
            raise ConfigError(f"{name}.token_dim: expected a multiple of {name}.heads = {heads}, got {dim}")
    ratio = c.body_grid // max(c.body_feature_grid, 1)
    if c.body_grid % max(c.body_feature_grid, 1) or ratio < 1 or ratio & (ratio - 1):
        raise ConfigError(
            f"coarse.body_grid / body_feature_grid: expected a power of two, got {c.body_grid} / {c.body_feature_grid}"
        )
    crop = config.inputs.crop_size
    for name, levels in (("coarse.depth", c.depth + 2), ("fine.depth", f.depth), ("fine.normal_downsamples", f.normal_downsamples)):
        if crop % (2**levels):
            raise ConfigError(f"inputs.crop_size: expected a multiple of 2**{levels} ({name}), got {crop}")
    for name in ("uniform_fraction", "other_people_fraction"):
        value = getattr(config.sampling, name)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"sampling.{name}: expected a value in [0, 1], got {value}")
    if not 0.0 < config.train.final_learning_rate_fraction <= 1.0:
        raise ConfigError(f"train.final_learning_rate_fraction: expected a value in (0, 1], "
                          f"got {config.train.final_learning_rate_fraction}")  # fmt: skip


def full_config() -> Config:
    """Paper / official-code sizes: 512^2 crops, 4 stacks of 256 channels, 128^3 body voxels -> 32^3 x 64."""
    return Config(name="full")


def small_config() -> Config:
    """CPU-trainable: 128^2 crops, 2 stacks of 64 channels, 32^3 body voxels -> 16^3 x 32, 2-layer attention."""
    return Config(
        name="small",
        inputs=InputConfig(crop_size=128),
        coarse=CoarseConfig(stacks=2, channels=64, depth=3, body_grid=32, body_feature_grid=16, body_channels=32,
                            token_dim=64, heads=4, mlp=(256, 128, 64)),  # fmt: skip
        fine=FineConfig(normal_channels=8, normal_downsamples=3, normal_blocks=3, channels=16, depth=2,
                        token_dim=32, heads=4, mlp=(128, 64)),  # fmt: skip
        sampling=SamplingConfig(points=4000),
        train=TrainConfig(coarse_steps=3500, fine_steps=1000, learning_rate=2e-4, final_learning_rate_fraction=0.1,
                          checkpoint_every=250, validate_every=500),
    )


def tiny_config() -> Config:
    """For tests: 32^2 crops, one shallow hourglass of 8 channels, 16^3 voxels; a training step takes milliseconds."""
    return Config(
        name="tiny",
        inputs=InputConfig(crop_size=32),
        coarse=CoarseConfig(stacks=1, channels=8, depth=1, body_grid=16, body_feature_grid=8, body_channels=8,
                            token_dim=16, attention_layers=2, heads=2, mlp=(32, 16)),  # fmt: skip
        fine=FineConfig(normal_channels=4, normal_downsamples=1, normal_blocks=1, channels=4, depth=1,
                        token_dim=8, heads=2, mlp=(16,)),  # fmt: skip
        sampling=SamplingConfig(points=256),
        train=TrainConfig(coarse_steps=100, fine_steps=50, learning_rate=1e-3, log_every=10, checkpoint_every=20),
    )


PRESETS = {"full": full_config, "small": small_config, "tiny": tiny_config}


def preset(name: str) -> Config:
    """The named preset ('full', 'small', 'tiny')."""
    if name not in PRESETS:
        raise ConfigError(f"config preset: expected one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]()


def with_ablation(config: Config, ablation: str) -> Config:
    """`config` with one ingredient removed, named as in the evaluation.

    'mean_pooling': mean instead of attention; 'no_body_volume'; 'no_global_normals'; 'coarse_only';
    'pifu_like': mean pooling, no body volume and no global normal maps; 'none': unchanged.
    """
    if ablation not in ABLATIONS:
        raise ConfigError(f"ablation: expected one of {ABLATIONS}, got {ablation!r}")
    r = dataclasses.replace
    name = config.name if ablation == "none" else f"{config.name}-{ablation}"
    if ablation in ("mean_pooling", "pifu_like"):
        config = r(config, coarse=r(config.coarse, fusion="mean"))
    if ablation in ("no_body_volume", "pifu_like"):
        config = r(config, inputs=r(config.inputs, use_body_volume=False))
    if ablation in ("no_global_normals", "pifu_like"):
        config = r(config, inputs=r(config.inputs, use_global_normals=False))
    if ablation == "coarse_only":
        config = r(config, fine=r(config.fine, enabled=False))
    return r(config, name=name)
