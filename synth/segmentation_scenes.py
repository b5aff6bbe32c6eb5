"""Small synthetic segmentation scenes for tests and benchmarks: Anny bodies posed by `synth.motion`, "clothed"
by inflating the body along its normals (1-3 cm, varying over the body) plus a hair volume, rendered into a
ring of cameras over a textured background, with ground-truth instance maps.

The plain bodies play the fitted bodies; the clothed meshes are the ground truth the images show.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from body.model import BodyModel
from body.params import BodyParams
from calibration.camera import Camera
from render import Mesh, render, vertex_normals
from render.primitives import icosphere


@dataclass(frozen=True)
class SegmentationScene:
    """One frame of P people seen by V cameras (H x W).

    Attributes:
        cameras: the V cameras.
        person_ids: (P,) track ids.
        params: the bodies' parameters, batch shape (P,).
        bodies: P plain body meshes (the "fitted" bodies).
        clothed: P ground-truth meshes (inflated body + hair).
        images: (V, H, W, 3) uint8 RGB renders of the clothed people over `plates`.
        plates: (V, H, W, 3) uint8 RGB images of the empty scene (textured background).
        gt_index: (V, H, W) int32 ground-truth index map (-1 background, p person).
        gt_occluded: (P, V, H, W) bool: the clothed person p projects there but another person is in front.
    """

    cameras: list[Camera]
    person_ids: list[int]
    params: BodyParams
    bodies: list[Mesh]
    clothed: list[Mesh]
    images: np.ndarray
    plates: np.ndarray
    gt_index: np.ndarray
    gt_occluded: np.ndarray


def clothe(body_mesh: Mesh, head_top: np.ndarray, nose: np.ndarray, color, rng: np.random.Generator) -> Mesh:
    """A clothed stand-in for `body_mesh`: vertices pushed out 1-3 cm along the normals (more on the torso
    and legs, stripes of colour) and a 9-11 cm hair sphere behind the top of the head."""
    vertices, faces = body_mesh.vertices, body_mesh.faces
    normals = vertex_normals(vertices, faces)
    height = vertices[:, 2] - vertices[:, 2].min()
    phase = rng.uniform(0, 2 * np.pi)
    offset = 0.01 + 0.02 * (0.5 + 0.5 * np.sin(height * 9.0 + phase)) * (height < 1.45)
    cloth = vertices + normals * offset[:, None]
    stripes = 0.75 + 0.25 * np.sign(np.sin(height * 40.0 + phase))
    colors = np.clip(np.asarray(color)[None] * stripes[:, None], 0.0, 1.0)
    back = head_top - nose
    back[2] = 0.0
    back /= max(np.linalg.norm(back), 1e-9)
    hair = icosphere(rng.uniform(0.09, 0.11), center=head_top + 0.05 * back - np.array([0, 0, 0.06]), subdivisions=3)
    hair_colors = np.tile(rng.uniform(0.05, 0.5, 3), (hair.num_vertices, 1))
    return Mesh(
        np.concatenate([cloth, hair.vertices]),
        np.concatenate([faces, hair.faces + len(cloth)]),
        colors=np.concatenate([colors, hair_colors]),
    )


def textured_plate(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 RGB textured background: smooth colour noise, tiles and fine grain."""
    coarse = rng.uniform(40, 220, (max(height // 24, 2), max(width // 24, 2), 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    ys, xs = np.mgrid[0:height, 0:width]
    tiles = 25.0 * (((ys // 16) + (xs // 16)) % 2)[..., None]
    grain = rng.normal(0, 6, (height, width, 3))
    return np.clip(smooth + tiles + grain, 0, 255).astype(np.uint8)


PERSON_COLORS = ((0.8, 0.25, 0.2), (0.2, 0.45, 0.8), (0.3, 0.7, 0.3), (0.8, 0.7, 0.2))


def motion_frame(body: BodyModel, category: str, num_people: int, seed: int, frame: int = 0, num_frames: int = 1):
    """(params with batch (P,), track ids) of frame `frame` of a `synth.motion.make_motion` motion."""
    from synth.motion import make_motion

    motion = make_motion(body, category, num_people, num_frames, seed=seed)
    full = motion.params
    params = BodyParams(shape=full.shape[:, 0], pose_aa=full.pose_aa[:, frame], global_rot_aa=full.global_rot_aa[:, frame],
                        transl=full.transl[:, frame])  # fmt: skip
    return params, list(motion.person_ids)


def make_scene(body: BodyModel, category: str, cameras: list[Camera], num_people: int = 2, seed: int = 0) -> SegmentationScene:
    """A static scene of `synth.motion` category `category` ("natural", "close", ...)."""
    params, ids = motion_frame(body, category, num_people, seed)
    return scene_from_params(body, params, ids, cameras, seed)


def scene_from_params(body: BodyModel, params: BodyParams, person_ids: list[int], cameras: list[Camera],
                      seed: int = 0) -> SegmentationScene:  # fmt: skip
    """The segmentation scene of people posed by `params` (batch (P,)) with track ids `person_ids`."""
    with torch.no_grad():
        out = body(params)
    rng = np.random.default_rng(seed)
    faces = out.faces.cpu().numpy()
    names = out.keypoint_names
    num_people = len(person_ids)
    bodies, clothed = [], []
    for p in range(num_people):
        vertices = out.vertices[p].double().cpu().numpy()
        keypoints = out.keypoints[p].double().cpu().numpy()
        bodies.append(Mesh(vertices, faces))
        color = PERSON_COLORS[p % len(PERSON_COLORS)]
        clothed.append(clothe(bodies[-1], keypoints[names.index("head_top")], keypoints[names.index("nose")], color, rng))
    together = render(clothed, cameras)
    solo = np.stack([render([mesh], cameras).mask for mesh in clothed])  # (P, V, H, W)
    gt_index = together.instance_id
    height, width = gt_index.shape[1:]
    plates = np.stack([textured_plate(height, width, rng) for _ in cameras])
    rgb = np.clip(together.rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    images = np.where(together.mask[..., None], rgb, plates)
    gt_occluded = solo & (gt_index[None] >= 0) & (gt_index[None] != np.arange(num_people)[:, None, None, None])
    return SegmentationScene(
        cameras=list(cameras), person_ids=list(person_ids), params=params, bodies=bodies, clothed=clothed,
        images=images, plates=plates, gt_index=gt_index, gt_occluded=gt_occluded,
    )  # fmt: skip
