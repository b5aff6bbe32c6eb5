"""Outfits as data: garments, hair and colours of one synthetic person, and random outfits.

A person is the union of components (skin, then garments), each a signed distance field around the body in
its canonical rest frame (built in ``synth.person``):

- *offset* garments (``top``, ``coat``, ``trousers``, ``shorts``, ``shoes``, ``hair``) cover a region of the
  body surface, given by the body part of the nearest body vertex and its position along the limb, and lie
  ``thickness`` outside it, with wrinkles (smooth noise of amplitude ``wrinkle``) on the offset;
- *flared* garments (``skirt``, the lower part of a ``dress``) are a solid hanging from the waist, widening
  towards the hem, with pleats;
- long hair adds a rounded slab behind the head and the upper back.

Coordinates used by coverage (see ``synth.person.BodyRegions``): ``arm_t`` 0 at the shoulder, 0.5 at the
elbow, 1 at the wrist; ``leg_t`` 0 at the hip, 0.5 at the knee, 1 at the ankle; ``torso_t`` 0 at hip height,
1 at shoulder height. Colours are RGB in [0, 1]; patterns are solid textures in the canonical frame, so
they move with the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GARMENT_KINDS = ("top", "coat", "trousers", "shorts", "skirt", "dress", "shoes", "hair")
PATTERNS = ("solid", "stripes", "checks", "noise")
HAIR_STYLES = ("none", "short", "bob", "long")

SKIN_TONES = np.array([
    [0.96, 0.80, 0.69], [0.91, 0.72, 0.58], [0.84, 0.63, 0.50], [0.74, 0.53, 0.40],
    [0.62, 0.43, 0.31], [0.48, 0.32, 0.22], [0.36, 0.24, 0.17],
])  # fmt: skip
HAIR_COLOURS = np.array([[0.08, 0.06, 0.05], [0.25, 0.16, 0.09], [0.45, 0.30, 0.16], [0.75, 0.60, 0.35],
                         [0.55, 0.22, 0.10], [0.6, 0.6, 0.6]])  # fmt: skip
CLOTH_COLOURS = np.array([
    [0.85, 0.15, 0.15], [0.15, 0.3, 0.75], [0.1, 0.55, 0.25], [0.95, 0.8, 0.2], [0.95, 0.95, 0.93],
    [0.12, 0.12, 0.14], [0.5, 0.5, 0.52], [0.55, 0.35, 0.2], [0.9, 0.5, 0.15], [0.5, 0.2, 0.6],
    [0.2, 0.65, 0.75], [0.9, 0.6, 0.7], [0.2, 0.25, 0.4], [0.75, 0.7, 0.55],
])  # fmt: skip


@dataclass(frozen=True)
class Pattern:
    """A solid texture: `kind` in PATTERNS, two colours (2, 3), `period` metres, `direction` (3,) unit."""

    kind: str
    colors: tuple[tuple[float, float, float], tuple[float, float, float]]
    period: float = 0.06
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """(M, 3) canonical points -> (M, 3) colours in [0, 1]."""
        a, b = (np.asarray(c, dtype=np.float64) for c in self.colors)
        k = 2.0 * np.pi / self.period
        if self.kind == "solid":
            mix = np.zeros(len(points))
        elif self.kind == "stripes":
            mix = (np.sin(k * points @ np.asarray(self.direction)) > 0.3).astype(np.float64)
        elif self.kind == "checks":
            mix = ((np.sin(k * points[:, 0]) * np.sin(k * points[:, 2]) + 0.3 * np.sin(k * points[:, 1])) > 0)
            mix = mix.astype(np.float64)
        else:  # noise: heathered mix of both colours
            mix = 0.5 + 0.5 * smooth_noise(points, self.period, seed=int(self.period * 1e4))
        colors = a[None] * (1.0 - mix[:, None]) + b[None] * mix[:, None]
        return np.clip(colors, 0.0, 1.0)


def smooth_noise(points: np.ndarray, wavelength: float, seed: int, count: int = 8, vertical: float = 0.0) -> np.ndarray:
    """(M,) smooth pseudo-random field in about [-1, 1] at canonical `points` (M, 3): a sum of `count` plane
    waves of wavelengths around `wavelength` metres; `vertical` in [0, 1] tilts the waves towards varying
    along z (horizontal folds)."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(count, 3))
    directions[:, 2] += vertical * 3.0 * np.sign(directions[:, 2] + 1e-9)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    wavenumbers = 2.0 * np.pi / (wavelength * rng.uniform(0.6, 1.6, count))
    phases = rng.uniform(0, 2 * np.pi, count)
    waves = np.sin(points @ (directions * wavenumbers[:, None]).T + phases)
    return waves.sum(1) / np.sqrt(count / 2.0) / 1.5


@dataclass(frozen=True)
class Garment:
    """One garment (or hair, or shoes).

    Attributes:
        kind: one of GARMENT_KINDS.
        pattern: its colours.
        thickness: metres outside the body surface (offset garments) or at the waist (flared ones).
        wrinkle: amplitude of the wrinkle noise, metres.
        sleeve: arm coverage up to this ``arm_t`` (tops, coats, dresses); 0 = sleeveless.
        length: ``leg_t`` reached by trousers, shorts and coats; for skirts and dresses the hem's ``leg_t``.
        hem: ``torso_t`` of a top's lower edge (negative: below the hips).
        flare: widening of skirts per metre below the waist (metres per metre).
        style: hair style (HAIR_STYLES) for ``hair``.
        seed: seed of its wrinkle noise.
    """

    kind: str
    pattern: Pattern
    thickness: float = 0.01
    wrinkle: float = 0.004
    sleeve: float = 0.0
    length: float = 1.0
    hem: float = -0.15
    flare: float = 0.2
    style: str = "short"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in GARMENT_KINDS:
            raise ValueError(f"Garment.kind: expected one of {GARMENT_KINDS}, got {self.kind!r}")
        if self.kind == "hair" and self.style not in HAIR_STYLES:
            raise ValueError(f"Garment.style: expected one of {HAIR_STYLES}, got {self.style!r}")


@dataclass(frozen=True)
class Outfit:
    """Everything a person wears, outermost last, and their skin colour."""

    skin: tuple[float, float, float]
    garments: tuple[Garment, ...] = field(default_factory=tuple)

    def describe(self) -> dict:
        """JSON-ready summary (for gt/scene.json)."""
        return {
            "skin": [round(c, 3) for c in self.skin],
            "garments": [
                {"kind": g.kind, "pattern": g.pattern.kind, "colors": [list(map(float, c)) for c in g.pattern.colors],
                 "thickness": g.thickness, "wrinkle": g.wrinkle, "sleeve": g.sleeve, "length": g.length,
                 "hem": g.hem, "flare": g.flare, **({"style": g.style} if g.kind == "hair" else {})}
                for g in self.garments
            ],
        }  # fmt: skip


def _pattern(rng: np.random.Generator, allow=PATTERNS) -> Pattern:
    first, second = rng.choice(len(CLOTH_COLOURS), 2, replace=False)
    a = np.clip(CLOTH_COLOURS[first] * rng.uniform(0.8, 1.1), 0, 1)
    b = np.clip(CLOTH_COLOURS[second] * rng.uniform(0.8, 1.1), 0, 1)
    kind = str(rng.choice(allow, p=None))
    direction = (0.0, 0.0, 1.0) if rng.random() < 0.7 else (1.0, 0.0, 0.0)
    return Pattern(kind, (tuple(map(float, a)), tuple(map(float, b))), float(rng.uniform(0.03, 0.09)), direction)


def random_outfit(rng: np.random.Generator) -> Outfit:
    """A random outfit: lower garment (trousers, shorts, skirt or a dress), a top unless a dress, maybe a
    coat, shoes and a hair style. Deterministic for the generator's state."""
    garments: list[Garment] = []
    seed = lambda: int(rng.integers(1 << 30))  # noqa: E731
    lower = str(rng.choice(["trousers", "trousers", "shorts", "skirt", "dress"]))
    if lower in ("trousers", "shorts"):
        length = rng.uniform(0.85, 1.0) if lower == "trousers" else rng.uniform(0.25, 0.45)
        garments.append(Garment(lower, _pattern(rng, ("solid", "solid", "checks", "noise")), rng.uniform(0.006, 0.02),
                                rng.uniform(0.002, 0.007), length=length, seed=seed()))  # fmt: skip
    if lower == "skirt":
        garments.append(Garment("trousers", _pattern(rng, ("solid",)), 0.003, 0.0, length=0.2, seed=seed()))
    if lower != "dress":
        loose = rng.random() < 0.5
        garments.append(Garment("top", _pattern(rng), rng.uniform(0.012, 0.025) if loose else rng.uniform(0.004, 0.01),
                                rng.uniform(0.004, 0.009) if loose else rng.uniform(0.001, 0.004),
                                sleeve=float(rng.choice([0.0, 0.2, 0.35, 0.9, 0.97])), hem=rng.uniform(-0.2, 0.0),
                                seed=seed()))  # fmt: skip
    if lower in ("skirt", "dress"):
        garments.append(Garment(lower, _pattern(rng), rng.uniform(0.01, 0.025), rng.uniform(0.004, 0.01),
                                sleeve=float(rng.choice([0.0, 0.2, 0.4])), length=rng.uniform(0.3, 0.65),
                                flare=rng.uniform(0.08, 0.3), seed=seed()))  # fmt: skip
    if rng.random() < 0.3:
        garments.append(Garment("coat", _pattern(rng, ("solid", "solid", "checks", "noise")), rng.uniform(0.02, 0.03),
                                rng.uniform(0.004, 0.01), sleeve=0.97, length=rng.uniform(0.1, 0.45),
                                hem=-0.4, seed=seed()))  # fmt: skip
    shoe = tuple(map(float, CLOTH_COLOURS[rng.choice([5, 7, 4, 12, 6])]))
    garments.append(Garment("shoes", Pattern("solid", (shoe, shoe)), rng.uniform(0.008, 0.014), 0.0, seed=seed()))
    style = str(rng.choice(HAIR_STYLES, p=[0.1, 0.4, 0.25, 0.25]))
    if style != "none":
        hair = tuple(map(float, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))]))
        darker = tuple(float(c * 0.7) for c in hair)
        garments.append(Garment("hair", Pattern("noise", (hair, darker), 0.02), rng.uniform(0.012, 0.03),
                                rng.uniform(0.002, 0.005), style=style, seed=seed()))  # fmt: skip
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.95, 1.05)
    return Outfit(tuple(map(float, np.clip(skin, 0, 1))), tuple(garments))
