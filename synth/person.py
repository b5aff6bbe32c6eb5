"""Clothed people: an outfit (``synth.clothing``) built once around a body in its canonical rest pose as a
watertight mesh, then posed for any frame by linear blend skinning.

Build (``build_person``): the body's signed distance on a voxel grid (sign from Open3D ray-parity occupancy,
distance from a Euclidean distance transform, replaced by exact point-to-mesh distances in a band around
the surface), garments as offsets of that field or as flared solids, union by min, marching cubes
(PyMCubes), vertex colours from the component each vertex lies on, skinning weights from the nearest body
vertices (DeepMultiCap Eq. 7-8). Pose (``ClothedPerson.pose``): ``body.skinning.skin_points`` with the body's
joint transforms of a frame.

Convention: canonical frame of ``body.model`` (root at the origin, z up, facing -y, left at +x), metres.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial import cKDTree

from body.model import BodyModel, BodyOutput
from body.skinning import nearest_vertex_blend_weights, skin_points
from render.mesh import Mesh, raycasting_scene
from synth.clothing import Garment, Outfit, smooth_noise

logger = logging.getLogger(__name__)

PARTS = ("torso", "head", "neck", "upper_arm", "forearm", "hand", "thigh", "shin", "foot")
_PART_KEYWORDS = (  # first match wins: joint-name fragments of Anny and SMPL-X joints -> body part
    ("hand", ("wrist", "finger", "metacarpal", "hand", "index", "middle", "ring", "pinky", "thumb")),
    ("forearm", ("lowerarm", "elbow")),
    ("upper_arm", ("upperarm", "shoulder")),
    ("foot", ("foot", "toe", "ankle")),
    ("shin", ("lowerleg", "knee")),
    ("thigh", ("upperleg", "hip")),
    ("head", ("head", "eye", "jaw", "tongue")),
    ("neck", ("neck",)),
)
DEFAULT_VOXEL = 0.01
"""Voxel size (metres) of the build grid: ~40-70k faces per person."""


def joint_part(name: str) -> str:
    """Body part (PARTS) a skinning joint belongs to, from its name; 'torso' when nothing matches."""
    lower = name.lower()
    for part, keywords in _PART_KEYWORDS:
        if any(k in lower for k in keywords):
            return part
    return "torso"


def _segment_t(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(M,) position in [0, 1] of the projection of `points` (M, 3) on the segment a -> b."""
    ab = b - a
    return np.clip((points - a) @ ab / (ab @ ab), 0.0, 1.0)


@dataclass(frozen=True)
class BodyRegions:
    """Where each rest-pose body vertex is, for garment coverage (see ``synth.clothing``).

    Attributes:
        part: (N,) int index into PARTS.
        arm_t, leg_t: (N,) position along the arm / leg (0 shoulder/hip, 0.5 elbow/knee, 1 wrist/ankle);
            NaN off the limb.
        torso_t: (N,) height between the hips (0) and the shoulders (1).
        positions: (N, 3) the rest-pose vertices.
        keypoints: canonical keypoint name -> (3,) rest position.
    """

    part: np.ndarray
    arm_t: np.ndarray
    leg_t: np.ndarray
    torso_t: np.ndarray
    positions: np.ndarray
    keypoints: dict[str, np.ndarray]

    def is_part(self, *names: str) -> np.ndarray:
        return np.isin(self.part, [PARTS.index(n) for n in names])

    def leg_height(self, leg_t: float) -> float:
        """Height z (metres) of the leg position `leg_t` (mean of both legs, piecewise linear)."""
        k = self.keypoints
        z = [0.5 * (k[f"left_{j}"][2] + k[f"right_{j}"][2]) for j in ("hip", "knee", "ankle")]
        return float(np.interp(leg_t, [0.0, 0.5, 1.0], z))

    def torso_height(self, torso_t: float) -> float:
        k = self.keypoints
        hip, shoulder = k["mid_hip"][2], k["neck"][2]
        return float(hip + torso_t * (shoulder - hip))


def body_regions(vertices: np.ndarray, skinning_weights: np.ndarray, joint_names: list[str],
                 keypoints: dict[str, np.ndarray]) -> BodyRegions:  # fmt: skip
    """Regions of rest-pose body `vertices` (N, 3) with skinning weights (N, J) of joints `joint_names`."""
    joint_parts = np.array([PARTS.index(joint_part(n)) for n in joint_names])
    part = joint_parts[np.asarray(skinning_weights).argmax(1)]
    arm_t, leg_t = np.full(len(vertices), np.nan), np.full(len(vertices), np.nan)
    k = keypoints
    for side, sign in (("left", 1.0), ("right", -1.0)):
        on_side = sign * vertices[:, 0] > 0
        for target, (first, second), (a, m, b) in (
            (arm_t, ("upper_arm", "forearm"), ("shoulder", "elbow", "wrist")),
            (leg_t, ("thigh", "shin"), ("hip", "knee", "ankle")),
        ):
            for offset, segment_part, (p, q) in ((0.0, first, (a, m)), (0.5, second, (m, b))):
                sel = on_side & (part == PARTS.index(segment_part))
                target[sel] = offset + 0.5 * _segment_t(vertices[sel], k[f"{side}_{p}"], k[f"{side}_{q}"])
        arm_t[on_side & (part == PARTS.index("hand"))] = 1.0
        leg_t[on_side & (part == PARTS.index("foot"))] = 1.0
    hip, shoulder = k["mid_hip"][2], k["neck"][2]
    return BodyRegions(part, arm_t, leg_t, (vertices[:, 2] - hip) / (shoulder - hip), vertices, dict(keypoints))


def coverage(garment: Garment, regions: BodyRegions) -> np.ndarray:
    """(N,) bool: body vertices under the offset part of `garment`."""
    r = regions
    torso = r.is_part("torso")
    arms = np.nan_to_num(r.arm_t, nan=9.0)
    legs = np.nan_to_num(r.leg_t, nan=9.0)
    kind = garment.kind
    if kind == "top":
        return (torso & (r.torso_t >= garment.hem)) | (arms <= garment.sleeve)
    if kind == "dress":
        return torso | (arms <= garment.sleeve) | (legs <= 0.1)
    if kind == "coat":
        return torso | (arms <= garment.sleeve) | (legs <= garment.length) | r.is_part("neck") & (r.torso_t < 1.08)
    if kind in ("trousers", "shorts"):
        return (legs <= garment.length) | (torso & (r.torso_t <= 0.25))
    if kind == "skirt":
        return (legs <= 0.1) | (torso & (r.torso_t <= 0.25))
    if kind == "shoes":
        return r.is_part("foot") | ((legs >= 0.97) & (legs < 9.0))
    if kind == "hair":
        return _scalp(garment.style, regions)
    raise ValueError(f"coverage: unknown garment kind {kind!r}")


def _scalp(style: str, r: BodyRegions) -> np.ndarray:
    """Head vertices under the hair: above the brow, and further down at the back and sides for longer styles."""
    if style == "none":
        return np.zeros(len(r.part), dtype=bool)
    head = r.is_part("head", "neck")
    k = r.keypoints
    y, z = r.positions[:, 1], r.positions[:, 2]
    brow = 0.5 * (k["left_eye"][2] + k["right_eye"][2]) + 0.025
    ear = 0.5 * (k["left_ear"] + k["right_ear"])
    drop = {"short": 0.0, "bob": 0.06, "long": 0.09}[style]
    back = (y > ear[1] - (0.0 if style == "short" else 0.02)) & (z >= ear[2] + 0.02 - drop)
    return head & ((z >= brow) | back)


@dataclass(frozen=True, eq=False)
class ClothedPerson:
    """A clothed person in the canonical rest pose, ready to pose.

    Attributes:
        rest_vertices: (M, 3) canonical vertices, metres.
        faces: (F, 3) int64, counter-clockwise seen from outside; the mesh is watertight.
        colors: (M, 3) albedo in [0, 1].
        component: (M,) int: 0 = skin, g + 1 = ``outfit.garments[g]``.
        skinning_weights: (M, J) torch weights on the body's joints.
        outfit: what the person wears.
        shape: (S,) the body shape it was built for.
    """

    rest_vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    component: np.ndarray
    skinning_weights: torch.Tensor
    outfit: Outfit
    shape: np.ndarray

    def pose(self, joint_transforms: torch.Tensor) -> np.ndarray:
        """(*batch, M, 3) float64 world vertices for joint transforms (*batch, J, 4, 4) of this person's body
        (``BodyOutput.joint_transforms``: canonical rest -> world)."""
        weights = self.skinning_weights.to(joint_transforms.dtype)
        rest = torch.as_tensor(self.rest_vertices, dtype=joint_transforms.dtype)
        with torch.no_grad():
            posed = skin_points(rest.expand(*joint_transforms.shape[:-3], *rest.shape), weights, joint_transforms)
        return posed.double().cpu().numpy()

    def mesh(self, joint_transforms: torch.Tensor) -> Mesh:
        """The posed Mesh for one frame's joint transforms (J, 4, 4)."""
        return Mesh(self.pose(joint_transforms), self.faces, colors=self.colors)


def _rest_body(body: BodyModel, shape: np.ndarray) -> BodyOutput:
    params = body.neutral_params((1,), standing=False)
    params.shape = torch.as_tensor(np.asarray(shape)[None], dtype=body.dtype)
    with torch.no_grad():
        return body(params)


class _Field:
    """Signed distance of the person's components at arbitrary canonical points."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, regions: BodyRegions, outfit: Outfit):
        import open3d as o3d

        self.o3d = o3d
        self.scene = raycasting_scene(vertices, faces)
        self.tree = cKDTree(vertices)
        self.regions, self.outfit, self.vertices = regions, outfit, vertices
        self.covered = [coverage(g, regions) for g in outfit.garments]
        self.flared = {g_index: self._flare_profile(g) for g_index, g in enumerate(outfit.garments)
                       if g.kind in ("skirt", "dress")}  # fmt: skip

    def occupancy(self, points: np.ndarray) -> np.ndarray:
        return self.scene.compute_occupancy(self.o3d.core.Tensor(points.astype(np.float32)), nsamples=3).numpy() > 0.5

    def body_distance(self, points: np.ndarray, inside: np.ndarray) -> np.ndarray:
        distance = self.scene.compute_distance(self.o3d.core.Tensor(points.astype(np.float32))).numpy()
        return np.where(inside, -distance, distance).astype(np.float64)

    def _flare_profile(self, garment: Garment) -> dict:
        """Waist height, hem height and the body's half-width/half-depth profile (running max downwards)."""
        r = self.regions
        waist = r.torso_height(0.25 if garment.kind == "skirt" else 0.2)
        hem = r.leg_height(garment.length)
        trunk = r.is_part("torso", "thigh", "shin")
        bins = np.arange(hem - 0.02, waist + 0.02, 0.01)
        centre_y = float(np.median(self.vertices[trunk & (np.abs(self.vertices[:, 2] - waist) < 0.02), 1]))
        half_x, half_y = np.zeros(len(bins)), np.zeros(len(bins))
        for i, z in enumerate(bins):
            sel = trunk & (np.abs(self.vertices[:, 2] - z) < 0.006)
            if sel.any():
                half_x[i] = np.abs(self.vertices[sel, 0]).max()
                half_y[i] = np.abs(self.vertices[sel, 1] - centre_y).max()
        half_x = np.maximum.accumulate(half_x[::-1])[::-1]  # never narrower than what lies above
        half_y = np.maximum.accumulate(half_y[::-1])[::-1]
        return {"waist": waist, "hem": hem, "bins": bins, "half_x": half_x, "half_y": half_y, "cy": centre_y}

    def flared_distance(self, g_index: int, points: np.ndarray) -> np.ndarray:
        """Approximate signed distance to a pleated elliptic skirt hanging from the waist."""
        garment, prof = self.outfit.garments[g_index], self.flared[g_index]
        x, y, z = points[:, 0], points[:, 1] - prof["cy"], points[:, 2]
        drop = np.clip(prof["waist"] - z, 0.0, None)
        a = np.interp(z, prof["bins"], prof["half_x"]) + garment.thickness + garment.flare * drop
        b = np.interp(z, prof["bins"], prof["half_y"]) + garment.thickness + 0.6 * garment.flare * drop
        theta = np.arctan2(y, x)
        depth = drop / max(prof["waist"] - prof["hem"], 1e-3)
        pleats = 1.0 + (3.0 * garment.wrinkle / 0.2) * depth * np.sin(12 * theta + garment.seed % 7)
        rho = np.sqrt((x / a) ** 2 + (y / b) ** 2) / pleats
        radial = (rho - 1.0) * np.minimum(a, b)
        vertical = np.maximum(z - prof["waist"], prof["hem"] - z)
        return np.maximum(radial, vertical)

    def long_hair_distance(self, garment: Garment, points: np.ndarray) -> np.ndarray:
        """Signed distance to a rounded slab behind the head down to the upper back."""
        k = self.regions.keypoints
        head = self.vertices[self.regions.is_part("head")]
        ear = 0.5 * (k["left_ear"] + k["right_ear"])
        back = head[:, 1].max() + garment.thickness
        centre = np.array([0.0, 0.5 * (ear[1] + back), 0.5 * (k["left_eye"][2] + k["neck"][2] - 0.05)])
        half = np.array([0.8 * np.abs(head[:, 0]).max(), 0.5 * (back - ear[1]), 0.5 * (k["left_eye"][2] - k["neck"][2] + 0.05)])
        rounding = 0.03
        q = np.abs(points - centre) - (half - rounding)
        return np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(1), 0.0) - rounding

    def components(self, points: np.ndarray, body_sdf: np.ndarray) -> np.ndarray:
        """(1 + G, M) signed distances of skin and each garment at `points` (M, 3) near the body."""
        nearest = self.tree.query(points)[1]
        out = np.full((1 + len(self.outfit.garments), len(points)), np.inf)
        out[0] = body_sdf
        for g_index, garment in enumerate(self.outfit.garments):
            covered = self.covered[g_index][nearest]
            noise = smooth_noise(points, 0.12 if garment.kind != "hair" else 0.03, garment.seed, vertical=1.0)
            offset = np.maximum(0.001, garment.thickness + garment.wrinkle * noise)
            out[1 + g_index] = np.where(covered, body_sdf - offset, np.inf)
            if g_index in self.flared:
                out[1 + g_index] = np.minimum(out[1 + g_index], self.flared_distance(g_index, points))
            if garment.kind == "hair" and garment.style == "long":
                out[1 + g_index] = np.minimum(out[1 + g_index], self.long_hair_distance(garment, points) - 0.3 * garment.wrinkle * noise)
        return out


def build_person(body: BodyModel, shape: np.ndarray, outfit: Outfit, voxel_size: float = DEFAULT_VOXEL) -> ClothedPerson:
    """Build the watertight clothed mesh of a body of `shape` (S,) wearing `outfit` in the rest pose."""
    start = time.perf_counter()
    rest = _rest_body(body, shape)
    vertices = rest.rest_vertices[0].double().cpu().numpy()
    faces = rest.faces.cpu().numpy()
    keypoints = dict(zip(rest.keypoint_names, rest.keypoints[0].double().cpu().numpy()))
    weights = rest.skinning_weights.double().cpu().numpy()
    regions = body_regions(vertices, weights, list(body.joint_names), keypoints)
    field = _Field(vertices, faces, regions, outfit)

    pad = 0.06 + max([g.thickness for g in outfit.garments], default=0.0)
    lo, hi = vertices.min(0) - pad, vertices.max(0) + pad
    for g_index, prof in field.flared.items():  # room for the widest hem
        garment = outfit.garments[g_index]
        reach = prof["half_x"].max() + garment.thickness + garment.flare * (prof["waist"] - prof["hem"]) + 0.05
        lo[:2], hi[:2] = np.minimum(lo[:2], [-reach, prof["cy"] - reach]), np.maximum(hi[:2], [reach, prof["cy"] + reach])
    axes = [np.arange(lo[i], hi[i] + voxel_size, voxel_size) for i in range(3)]
    shape3 = tuple(len(a) for a in axes)
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)

    inside = field.occupancy(grid).reshape(shape3)
    approx = (ndimage.distance_transform_edt(~inside) - ndimage.distance_transform_edt(inside)) * voxel_size
    approx = approx.reshape(-1)
    band_outer = max([g.thickness + 2 * g.wrinkle for g in outfit.garments], default=0.0) + 3 * voxel_size
    band = np.nonzero((approx > -3 * voxel_size) & (approx < band_outer))[0]
    sdf = approx.copy()
    sdf[band] = field.body_distance(grid[band], inside.reshape(-1)[band])
    sdf[band] = field.components(grid[band], sdf[band]).min(0)
    for g_index in field.flared:
        sdf = np.minimum(sdf, field.flared_distance(g_index, grid))
    for garment in outfit.garments:
        if garment.kind == "hair" and garment.style == "long":
            sdf = np.minimum(sdf, field.long_hair_distance(garment, grid))
    mesh_vertices, mesh_faces = _marching_cubes(sdf.reshape(shape3), lo, voxel_size)

    near_inside = field.occupancy(mesh_vertices)
    per_component = field.components(mesh_vertices, field.body_distance(mesh_vertices, near_inside))
    per_component -= 1e-4 * np.arange(len(per_component))[:, None]  # ties: the outer garment wins
    component = np.abs(per_component).argmin(0)
    colors = _colors(mesh_vertices, component, outfit)
    skin_weights = nearest_vertex_blend_weights(
        torch.as_tensor(mesh_vertices, dtype=body.dtype),
        torch.as_tensor(field.vertices, dtype=body.dtype),
        torch.as_tensor(weights, dtype=body.dtype),
        k=16,
    )
    logger.debug("build_person: %d faces in %.2f s", len(mesh_faces), time.perf_counter() - start)
    return ClothedPerson(mesh_vertices, mesh_faces, colors, component, skin_weights, outfit, np.asarray(shape, float))


def _largest_components(vertices: np.ndarray, faces: np.ndarray, min_share: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Drop connected components with fewer than `min_share` of the faces (marching-cubes specks)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(vertices),) * 2)
    _, label = connected_components(graph, directed=False)
    face_label = label[faces[:, 0]]
    counts = np.bincount(face_label)
    keep_faces = faces[counts[face_label] >= min_share * len(faces)]
    used = np.unique(keep_faces)
    remap = np.full(len(vertices), -1)
    remap[used] = np.arange(len(used))
    return vertices[used], remap[keep_faces]


def _marching_cubes(volume: np.ndarray, origin: np.ndarray, voxel_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Zero level set of a signed distance volume (negative inside) as an outward-wound mesh, metres."""
    import mcubes

    vertices, faces = mcubes.marching_cubes(-volume, 0.0)
    vertices = vertices * voxel_size + origin
    faces = faces.astype(np.int64)
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    signed_volume = np.einsum("ij,ij->i", v0, np.cross(v1, v2)).sum() / 6.0
    if signed_volume < 0:
        faces = faces[:, ::-1].copy()
    return _largest_components(vertices, faces)


def _colors(points: np.ndarray, component: np.ndarray, outfit: Outfit) -> np.ndarray:
    """(M, 3) albedo: skin tone with slight variation, or the garment's pattern."""
    colors = np.empty((len(points), 3))
    skin = np.asarray(outfit.skin)
    colors[:] = skin * (1.0 + 0.04 * smooth_noise(points, 0.05, 7))[:, None]
    for g_index, garment in enumerate(outfit.garments):
        sel = component == g_index + 1
        if sel.any():
            colors[sel] = garment.pattern(points[sel])
    return np.clip(colors, 0.0, 1.0)
