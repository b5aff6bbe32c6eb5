"""Clothed people for the independent held-out set, built without `synth`: garments are explicit lofted tubes.

Each garment piece is a closed tube lofted along an axis between two posed keypoints (torso, sleeve, trouser
leg, skirt, coat, hair, shoe). At each station along the axis its cross-section is the outline of the body
part's posed vertices in that slab (largest radius per angular sector), pushed out by the garment's ease,
widened by a flare towards the hem and rippled by folds. The person is the union of the body and its pieces as
surfaces: every face that lies inside another piece (or a piece face inside the body) is dropped, so the
ground truth holds only the outer surface, with small seams where pieces meet. Colours are per vertex: stripes,
checks or fractal noise in the tube's own (length, arc) coordinates, skin with mottling, dark hair.

    person = dress_body(body_vertices, body_faces, part_of_vertex, keypoints, rng)   # ClothedPerson

Units: metres, world z up; a body posed in the world (built per frame, no skinning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from render.mesh import Mesh

SECTORS = 56
"""Angular samples of every cross-section."""
STATION_STEP_M = 0.012
"""Spacing of cross-sections along a tube's axis."""

PART_RULES = (  # first match wins: Anny skinning-joint name fragment -> body part
    ("finger", "hand"), ("metacarpal", "hand"), ("wrist", "hand"), ("lowerarm", "forearm"),
    ("upperarm", "upper_arm"), ("shoulder", "upper_arm"), ("toe", "foot"), ("foot", "foot"),
    ("lowerleg", "shin"), ("upperleg", "thigh"), ("neck", "neck"), ("head", "head"), ("eye", "head"),
)  # fmt: skip


def joint_body_part(name: str) -> str:
    """Body part of an Anny skinning joint ('upperarm02.L' -> 'upper_arm.L'); joints matching no rule are torso."""
    lower = name.lower()
    side = ".L" if lower.endswith(".l") else ".R" if lower.endswith(".r") else ""
    part = next((p for fragment, p in PART_RULES if fragment in lower), "torso")
    return part + side if part not in ("torso", "neck", "head") else part


def vertex_parts(skinning_weights: np.ndarray, joint_names: list[str]) -> np.ndarray:
    """(N,) body-part name of each vertex: the part of its heaviest skinning joint (weights (N, J))."""
    parts = np.array([joint_body_part(n) for n in joint_names])
    return parts[np.argmax(skinning_weights, axis=1)]


# --- colours ----------------------------------------------------------------------------------------------------


def fractal_noise(points: np.ndarray, rng: np.random.Generator, scale_m: float = 0.08, octaves: int = 4) -> np.ndarray:
    """(M,) smooth noise in about [0, 1] at world points (M, 3): octaves of a random lattice, cubic-interpolated,
    the finest `scale_m / 2**(octaves-1)`, amplitudes halving."""
    from scipy.ndimage import map_coordinates

    total, weight = np.zeros(len(points)), 0.0
    low = points.min(0)
    for octave in range(octaves):
        cell = scale_m / 2**octave
        coords = (points - low) / cell
        lattice = rng.random(tuple(int(c) + 4 for c in coords.max(0)))
        total += 0.5**octave * map_coordinates(lattice, coords.T + 1.0, order=3, mode="nearest")
        weight += 0.5**octave
    return np.clip(total / weight, 0.0, 1.0)


@dataclass(frozen=True)
class Fabric:
    """A garment's look: pattern 'stripes' | 'checks' | 'noise' | 'plain', two colours (RGB in [0, 1]), the
    pattern's period in metres and, for stripes, whether they run around the tube (else along it)."""

    pattern: str
    base: tuple[float, float, float]
    accent: tuple[float, float, float]
    period_m: float = 0.05
    around: bool = True

    def colours(self, length_m: np.ndarray, arc_m: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(M, 3) colours at tube coordinates (length along the axis, arc around it, metres) and world points."""
        base, accent = np.asarray(self.base), np.asarray(self.accent)
        if self.pattern == "stripes":
            coordinate = length_m if self.around else arc_m
            mix = (np.floor(coordinate / self.period_m) % 2)[:, None]
        elif self.pattern == "checks":
            mix = ((np.floor(length_m / self.period_m) + np.floor(arc_m / self.period_m)) % 2)[:, None]
        elif self.pattern == "noise":
            mix = fractal_noise(points, rng, scale_m=self.period_m * 2)[:, None]
        else:
            mix = np.zeros((len(points), 1))
        grain = 0.92 + 0.08 * fractal_noise(points, rng, scale_m=0.02, octaves=2)[:, None]
        return np.clip(((1 - mix) * base + mix * accent) * grain, 0.0, 1.0)


def random_fabric(rng: np.random.Generator) -> Fabric:
    """A fabric with a random pattern and two random, clearly different colours."""
    hue = rng.random()
    base = hsv(hue, rng.uniform(0.3, 0.9), rng.uniform(0.25, 0.9))
    accent = hsv((hue + rng.uniform(0.25, 0.75)) % 1.0, rng.uniform(0.1, 0.9), rng.uniform(0.15, 0.95))
    pattern = str(rng.choice(["stripes", "checks", "noise", "plain"], p=[0.35, 0.25, 0.3, 0.1]))
    return Fabric(pattern, base, accent, float(rng.uniform(0.025, 0.09)), bool(rng.random() < 0.6))


def hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    """RGB in [0, 1] of a hue, saturation and value in [0, 1]."""
    import colorsys

    return colorsys.hsv_to_rgb(h, s, v)


# --- tubes --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TubeSpec:
    """One garment piece lofted along `start` -> `end` (world points, metres).

    Attributes:
        parts: body parts whose vertices shape the cross-sections.
        t_range: axial extent in units of the start-end distance (may reach past either keypoint).
        ease_m: how far the piece stands off the body's outline.
        flare_m: extra radius added linearly from 0 at t_range[0] to this at t_range[1] (skirts, loose sleeves).
        folds: (count, amplitude m) of the ripples around the section.
        min_radius_m: radius of a section without body vertices in its slab (past the body's end).
        shift_m: the whole tube moved by this world vector (hair hanging behind the head).
        fabric: its look.
    """

    start: np.ndarray
    end: np.ndarray
    parts: tuple[str, ...]
    t_range: tuple[float, float]
    ease_m: float
    fabric: Fabric
    flare_m: float = 0.0
    folds: tuple[int, float] = (0, 0.0)
    min_radius_m: float = 0.03
    shift_m: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _frame(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the plane normal to the unit `axis`."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def _fill_circular(radii: np.ndarray) -> np.ndarray:
    """(K, S) radii with NaN sectors filled by circular linear interpolation per row; rows without data stay NaN."""
    out = radii.copy()
    angles = np.arange(radii.shape[1])
    for row in out:
        known = np.isfinite(row)
        if known.any() and not known.all():
            xs = angles[known]
            row[~known] = np.interp(angles[~known], np.concatenate([xs - len(row), xs, xs + len(row)]),
                                    np.tile(row[known], 3))  # fmt: skip
    return out


def tube_profile(points: np.ndarray, spec: TubeSpec, length: float, stations: np.ndarray) -> np.ndarray:
    """(K, SECTORS) outline radius (metres) of `points` (M, 3) around the axis, per station t (K,) and sector,
    eased, flared, folded and smoothed; stations without body points take the nearest ones' profile (or
    `min_radius_m`)."""
    from scipy.ndimage import uniform_filter1d

    start = np.asarray(spec.start, float)
    axis = (np.asarray(spec.end, float) - start) / length
    u, w = _frame(axis)
    rel = points - start
    t = rel @ axis / length
    radial = rel - np.outer(rel @ axis, axis)
    r = np.linalg.norm(radial, axis=1)
    sector = (np.floor((np.arctan2(radial @ w, radial @ u) + np.pi) / (2 * np.pi) * SECTORS).astype(int)) % SECTORS
    half = 0.75 * (stations[1] - stations[0]) if len(stations) > 1 else 0.05
    radii = np.full((len(stations), SECTORS), np.nan)
    for k, station in enumerate(stations):
        inside = np.abs(t - station) <= half
        if inside.any():
            best = np.full(SECTORS, -np.inf)
            np.maximum.at(best, sector[inside], r[inside])
            radii[k] = np.where(np.isfinite(best), best, np.nan)
    radii = _fill_circular(radii)
    rows = np.isfinite(radii[:, 0])
    if rows.any():
        known = np.flatnonzero(rows)
        nearest = known[np.abs(np.arange(len(stations))[:, None] - known[None]).argmin(1)]
        radii = radii[nearest]
    else:
        radii = np.full_like(radii, spec.min_radius_m)
    radii = uniform_filter1d(uniform_filter1d(radii, 5, axis=1, mode="wrap"), 3, axis=0, mode="nearest")
    progress = (stations - spec.t_range[0]) / max(spec.t_range[1] - spec.t_range[0], 1e-9)
    angles = 2 * np.pi * (np.arange(SECTORS) + 0.5) / SECTORS
    count, amplitude = spec.folds
    ripple = amplitude * np.sin(count * angles)[None] * progress[:, None] if count else 0.0
    return np.maximum(radii, spec.min_radius_m) + spec.ease_m + spec.flare_m * progress[:, None] + ripple


def loft_tube(points: np.ndarray, spec: TubeSpec, rng: np.random.Generator) -> Mesh | None:
    """The closed tube of `spec` around the body vertices `points` (M, 3) of its parts, with vertex colours;
    None when the axis is degenerate. Faces wind outward."""
    start, end = np.asarray(spec.start, float), np.asarray(spec.end, float)
    length = float(np.linalg.norm(end - start))
    if length < 1e-3:
        return None
    axis = (end - start) / length
    u, w = _frame(axis)
    count = max(3, int(np.ceil((spec.t_range[1] - spec.t_range[0]) * length / STATION_STEP_M)) + 1)
    stations = np.linspace(spec.t_range[0], spec.t_range[1], count)
    radii = tube_profile(points, spec, length, stations)
    angles = 2 * np.pi * (np.arange(SECTORS) + 0.5) / SECTORS - np.pi
    directions = np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * w  # (S, 3)
    centres = start + np.outer(stations * length, axis) + np.asarray(spec.shift_m)
    ring = centres[:, None, :] + radii[..., None] * directions[None]  # (K, S, 3)
    vertices = np.concatenate([ring.reshape(-1, 3), centres[[0, -1]]])
    k, s = np.meshgrid(np.arange(count - 1), np.arange(SECTORS), indexing="ij")
    a, b = k * SECTORS + s, k * SECTORS + (s + 1) % SECTORS
    c, d = a + SECTORS, b + SECTORS
    faces = [np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)]
    first, last = len(vertices) - 2, len(vertices) - 1
    sectors = np.arange(SECTORS)
    faces.append(np.stack([np.full(SECTORS, first), (sectors + 1) % SECTORS, sectors], -1))
    top = (count - 1) * SECTORS
    faces.append(np.stack([np.full(SECTORS, last), top + sectors, top + (sectors + 1) % SECTORS], -1))
    faces = np.concatenate(faces)
    if _signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    length_m = np.concatenate([np.repeat(stations * length, SECTORS), [stations[0] * length, stations[-1] * length]])
    arc_m = np.concatenate([(np.tile(angles + np.pi, count) * radii.reshape(-1)), [0.0, 0.0]])
    colours = spec.fabric.colours(length_m, arc_m, vertices, rng)
    return Mesh(vertices, faces.astype(np.int64), colors=colours)


def _signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    corners = vertices[faces]
    return float(np.einsum("ij,ij->i", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])).sum() / 6.0)


# --- outfits ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outfit:
    """What one person wears: a top ('tank' | 'tee' | 'long' | 'coat'), a bottom ('shorts' | 'trousers' |
    'flares' | 'skirt'), hair ('short' | 'bun' | 'long' | 'none'), shoes or bare feet, and the fabrics."""

    top: str
    bottom: str
    hair: str
    shoes: bool
    top_fabric: Fabric
    bottom_fabric: Fabric
    hair_colour: tuple[float, float, float]
    skin_colour: tuple[float, float, float]
    shoe_colour: tuple[float, float, float]


SKIN_TONES = ((0.96, 0.80, 0.69), (0.89, 0.68, 0.55), (0.78, 0.57, 0.44), (0.60, 0.42, 0.30), (0.42, 0.28, 0.20))
HAIR_COLOURS = ((0.08, 0.06, 0.05), (0.30, 0.18, 0.10), (0.55, 0.38, 0.20), (0.80, 0.68, 0.45), (0.45, 0.45, 0.45))


def random_outfit(rng: np.random.Generator) -> Outfit:
    """An outfit drawn at random (every combination is possible)."""
    return Outfit(
        top=str(rng.choice(["tank", "tee", "long", "coat"], p=[0.15, 0.35, 0.3, 0.2])),
        bottom=str(rng.choice(["shorts", "trousers", "flares", "skirt"], p=[0.2, 0.4, 0.15, 0.25])),
        hair=str(rng.choice(["short", "bun", "long", "none"], p=[0.35, 0.2, 0.35, 0.1])),
        shoes=bool(rng.random() < 0.85),
        top_fabric=random_fabric(rng),
        bottom_fabric=random_fabric(rng),
        hair_colour=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
        skin_colour=SKIN_TONES[rng.integers(len(SKIN_TONES))],
        shoe_colour=hsv(rng.random(), rng.uniform(0, 0.6), rng.uniform(0.1, 0.7)),
    )


def outfit_tubes(outfit: Outfit, keypoints: dict[str, np.ndarray], back: np.ndarray, rng: np.random.Generator) -> list[TubeSpec]:
    """The garment pieces of `outfit` on a body with posed `keypoints` (name -> (3,)) whose back faces the unit
    vector `back`."""
    kp = keypoints
    top, bottom = outfit.top_fabric, outfit.bottom_fabric
    ease = float(rng.uniform(0.012, 0.03))
    torso_end = {"coat": 1.05}.get(outfit.top, 1.04)
    tubes = [TubeSpec(kp["mid_hip"], kp["neck"], ("torso",), (0.0, torso_end), ease, top, folds=(5, 0.004))]
    hips = ("torso", "thigh.L", "thigh.R")
    torso = float(np.linalg.norm(kp["neck"] - kp["mid_hip"]))
    knees = float(np.linalg.norm(kp["mid_hip"] - 0.5 * (kp["left_knee"] + kp["right_knee"]))) / torso
    if outfit.top == "coat":  # from the chest down past the knees, flaring towards the hem
        tubes.append(TubeSpec(kp["neck"], kp["mid_hip"], hips, (0.4, 1.0 + 1.05 * knees), ease + 0.015, top,
                              flare_m=0.07, folds=(7, 0.008)))  # fmt: skip
    for side in ("left", "right"):
        s = "L" if side == "left" else "R"
        shoulder, elbow, wrist = kp[f"{side}_shoulder"], kp[f"{side}_elbow"], kp[f"{side}_wrist"]
        if outfit.top != "tank":
            upper_end = 0.55 if outfit.top == "tee" else 1.1
            tubes.append(TubeSpec(shoulder, elbow, (f"upper_arm.{s}",), (-0.1, upper_end), ease, top,
                                  flare_m=0.012 if outfit.top == "tee" else 0.0))  # fmt: skip
        if outfit.top in ("long", "coat"):
            loose = 0.03 if outfit.top == "coat" else float(rng.uniform(0.0, 0.035))
            tubes.append(TubeSpec(elbow, wrist, (f"forearm.{s}",), (-0.05, 0.92), ease * 0.8, top, flare_m=loose))
        hip, knee, ankle = kp[f"{side}_hip"], kp[f"{side}_knee"], kp[f"{side}_ankle"]
        if outfit.bottom in ("shorts", "trousers", "flares"):
            thigh_end = 0.7 if outfit.bottom == "shorts" else 1.08
            tubes.append(TubeSpec(hip, knee, (f"thigh.{s}",), (-0.15, thigh_end), ease, bottom,
                                  flare_m=0.015 if outfit.bottom == "shorts" else 0.0))  # fmt: skip
        if outfit.bottom in ("trousers", "flares"):
            flare = 0.05 if outfit.bottom == "flares" else 0.005
            tubes.append(TubeSpec(knee, ankle, (f"shin.{s}",), (-0.05, 0.9), ease * 0.8, bottom, flare_m=flare,
                                  folds=(3, 0.004)))  # fmt: skip
        if outfit.shoes:
            toe = 0.5 * (kp[f"{side}_big_toe"] + kp[f"{side}_small_toe"])
            shoe = Fabric("noise", outfit.shoe_colour, tuple(0.6 * np.asarray(outfit.shoe_colour)), 0.03)
            tubes.append(TubeSpec(kp[f"{side}_heel"], toe, (f"foot.{s}",), (-0.12, 1.12), 0.008, shoe,
                                  min_radius_m=0.025))  # fmt: skip
    if outfit.bottom in ("shorts", "trousers", "flares"):  # the seat: the hips down to the crotch
        tubes.append(TubeSpec(kp["mid_hip"], kp["neck"], ("torso",), (-0.22, 0.25), ease, bottom))
    elif outfit.bottom == "skirt":  # a cone from the waist, its hem between mid-thigh and below the knee
        hem = 1.0 + float(rng.uniform(0.6, 1.1)) * knees
        tubes.append(TubeSpec(kp["neck"], kp["mid_hip"], hips, (0.78, hem), ease + 0.005, bottom,
                              flare_m=float(rng.uniform(0.03, 0.12)), folds=(9, 0.006)))  # fmt: skip
    hair = hair_fabric(outfit)
    if outfit.hair == "bun":
        top = kp["head_top"] + 0.03 * back
        tubes.append(TubeSpec(top - 0.02 * back, top + 0.1 * back, (), (0.0, 1.0), 0.0, hair, min_radius_m=0.045))
    if outfit.hair == "long":  # a hanging volume behind the head and neck, down to the shoulder blades
        down = kp["neck"] - kp["head_top"]
        tubes.append(TubeSpec(kp["head_top"] + 0.06 * back, kp["neck"] + 0.7 * down + 0.09 * back, (), (0.1, 1.0),
                              0.0, hair, min_radius_m=0.075, folds=(6, 0.006)))  # fmt: skip
    return tubes


def hair_fabric(outfit: Outfit) -> Fabric:
    return Fabric("noise", outfit.hair_colour, tuple(0.7 * np.asarray(outfit.hair_colour)), 0.015)


def scalp_shell(vertices: np.ndarray, faces: np.ndarray, parts: np.ndarray, keypoints: dict[str, np.ndarray],
                back: np.ndarray, thickness_m: float, fabric: Fabric, rng: np.random.Generator) -> tuple[np.ndarray, Mesh]:  # fmt: skip
    """Hair on the scalp: the head faces above the brow and behind the ears, pushed out along their vertex
    normals by `thickness_m` (+- 30 % noise) and joined to the skin by a wall along the region's border.

    Returns (bool (F,) the body faces the hair replaces, the hair mesh coloured with `fabric`).
    """
    import trimesh

    kp = keypoints
    centre = 0.5 * (kp["left_ear"] + kp["right_ear"])
    brow = 0.5 * (kp["left_eye"][2] + kp["right_eye"][2]) + 0.035
    rel = vertices - centre
    region = (parts == "head") & ((vertices[:, 2] > brow) | ((rel @ back > 0.015) & (vertices[:, 2] > centre[2] - 0.05)))
    covered = region[faces].all(axis=1)
    patch = faces[covered]
    used = np.unique(patch)
    remap = np.full(len(vertices), -1, np.int64)
    remap[used] = np.arange(len(used))
    normals = trimesh.Trimesh(vertices, faces, process=False).vertex_normals[used]
    lift = thickness_m * (0.7 + 0.6 * fractal_noise(vertices[used], rng, scale_m=0.04, octaves=2))
    inner, outer = vertices[used], vertices[used] + lift[:, None] * normals
    local = remap[patch]
    edges = np.sort(np.concatenate([local[:, [0, 1]], local[:, [1, 2]], local[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    border = unique[counts == 1]
    n = len(used)
    walls = np.concatenate([np.stack([border[:, 0], border[:, 1], n + border[:, 1]], 1),
                            np.stack([border[:, 0], n + border[:, 1], n + border[:, 0]], 1)])  # fmt: skip
    shell_v = np.concatenate([outer, inner])
    wall_centres = shell_v[walls].mean(1)
    wall_normals = np.cross(shell_v[walls[:, 1]] - shell_v[walls[:, 0]], shell_v[walls[:, 2]] - shell_v[walls[:, 0]])
    outward = np.einsum("ij,ij->i", wall_normals, wall_centres - centre) >= 0
    walls = np.where(outward[:, None], walls, walls[:, ::-1])
    hair_faces = np.concatenate([local, walls])
    colours = fabric.colours(shell_v[:, 2], np.zeros(len(shell_v)), shell_v, rng)
    return covered, Mesh(shell_v, hair_faces, colors=colours)


# --- the union ------------------------------------------------------------------------------------------------------


def _raycasting_scene(mesh: Mesh):
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.asarray(mesh.vertices, np.float32)),
                        o3d.core.Tensor(np.asarray(mesh.faces, np.uint32)))  # fmt: skip
    return scene


def surface_union(pieces: list[Mesh]) -> Mesh:
    """The outer surface of overlapping closed pieces: each piece without the faces whose centroid lies inside
    another piece (Open3D ray parity, majority of 3 rays, so small holes do not matter), merged into one mesh
    (colours kept, unused vertices dropped)."""
    import open3d as o3d

    scenes = [_raycasting_scene(piece) for piece in pieces]
    kept = []
    for i, piece in enumerate(pieces):
        centroids = o3d.core.Tensor(piece.vertices[piece.faces].mean(axis=1).astype(np.float32))
        inside = np.zeros(len(piece.faces), bool)
        for j, scene in enumerate(scenes):
            if j != i:
                inside |= scene.compute_occupancy(centroids, nsamples=3).numpy() > 0.5
        faces = piece.faces[~inside]
        if len(faces) == 0:
            continue
        used = np.unique(faces)
        remap = np.full(len(piece.vertices), -1, np.int64)
        remap[used] = np.arange(len(used))
        kept.append(Mesh(piece.vertices[used], remap[faces], colors=piece.colors[used]))
    return merge_meshes(kept)


def skin_colours(vertices: np.ndarray, tone: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    """(N, 3) skin: the tone mottled by low-contrast fractal noise."""
    mottle = 0.88 + 0.2 * fractal_noise(vertices, rng, scale_m=0.05, octaves=3)
    return np.clip(np.asarray(tone)[None] * mottle[:, None], 0.0, 1.0)


def dress_body(
    vertices: np.ndarray, faces: np.ndarray, parts: np.ndarray, keypoints: dict[str, np.ndarray],
    back: np.ndarray, outfit: Outfit, rng: np.random.Generator,
) -> Mesh:  # fmt: skip
    """The clothed person: posed body (vertices (N, 3), faces (F, 3), per-vertex `parts`) in the pieces of
    `outfit`, as one mesh with vertex colours (outer surface only, see `surface_union`)."""
    skin = skin_colours(vertices, outfit.skin_colour, rng)
    body = Mesh(vertices, faces, colors=skin)
    if outfit.hair != "none":
        thickness = {"short": 0.012, "bun": 0.01, "long": 0.016}[outfit.hair]
        covered, hair = scalp_shell(vertices, faces, parts, keypoints, back, thickness, hair_fabric(outfit), rng)
        body = merge_meshes([Mesh(vertices, faces[~covered], colors=skin), hair])
    pieces = [body]
    for spec in outfit_tubes(outfit, keypoints, back, rng):
        points = vertices[np.isin(parts, spec.parts)] if spec.parts else np.zeros((0, 3))
        tube = loft_tube(points, spec, rng)
        if tube is not None:
            pieces.append(tube)
    return surface_union(pieces)


def merge_meshes(meshes: list[Mesh]) -> Mesh:
    """One mesh of several (vertex colours required on all or none)."""
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    colours = None if any(m.colors is None for m in meshes) else np.concatenate([m.colors for m in meshes])
    return Mesh(np.concatenate([m.vertices for m in meshes]),
                np.concatenate([m.faces + o for m, o in zip(meshes, offsets)]), colors=colours)  # fmt: skip
