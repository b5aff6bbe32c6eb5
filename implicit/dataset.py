"""From views and a fitted body to network inputs (inference and training), and the training dataset.

    inputs, crops = build_person_inputs(cameras, images, person_mask, unobserved, body, config)   # inference
    dataset = TrainingDataset([lambda: sample, ...], config, seed=0)                             # training
    example = dataset[3]            # TrainingExample: PersonInputs (B = 1), points, labels, normal targets

A `TrainingSample` is the raw material of one person in one frame (numpy, full images), so any source (synthetic
capture folders, scenes made in tests) can feed the same preparation: `render_training_sample` makes one from
views, label maps, ground-truth meshes and the body.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from body.surface import BodySurface, body_surface
from calibration.camera import Camera
from calibration.geometry import CameraTensors
from implicit.body_volume import BodyFrame, canonical_frame, voxelize
from implicit.config import Config
from implicit.features import CropBox, PersonInputs, crop_box_around, crop_image
from implicit.sampling import augment_occlusion, sample_training_points
from render import Mesh, global_normal_colors, render, render_views


@dataclass(frozen=True)
class TrainingSample:
    """One person in one frame with ground truth, V views of H x W.

    Attributes:
        cameras: V cameras of one image size.
        images: (V, H, W, 3) float32 RGB in [0, 1].
        labels: (V, H, W) int label maps: 0 background, 1 + person id.
        person_id: the person (its label is person_id + 1).
        mesh: the person's watertight ground-truth mesh, world, metres.
        body: the person's body (stand-in for the fitted body).
        scene_depth: (V, H, W) float32 rendered depth of all people (+inf where empty), for point visibility.
        normals: (V, H, W, 3) float32 camera-frame normals of the person rendered alone (0 where empty).
        silhouette: (V, H, W) bool, the person rendered alone (visible or hidden by others).
        others: the other people's ground-truth meshes (for the training points around them).
    """

    cameras: list[Camera]
    images: np.ndarray
    labels: np.ndarray
    person_id: int
    mesh: Mesh
    body: BodySurface
    scene_depth: np.ndarray
    normals: np.ndarray
    silhouette: np.ndarray
    others: tuple[Mesh, ...] = ()

    @property
    def person_mask(self) -> np.ndarray:
        """(V, H, W) bool pixels where this person is visible."""
        return self.labels == self.person_id + 1

    @property
    def unobserved(self) -> np.ndarray:
        """(V, H, W) bool pixels where another person hides this one."""
        return (self.labels != 0) & ~self.person_mask & self.silhouette


def render_training_sample(
    cameras: Sequence[Camera],
    images: np.ndarray,
    labels: np.ndarray,
    person_id: int,
    meshes: Mapping[int, Mesh],
    body: BodySurface,
) -> TrainingSample:
    """A TrainingSample from views, label maps and the ground-truth meshes of every person (id -> mesh)."""
    if person_id not in meshes:
        raise ValueError(f"render_training_sample: person_id {person_id} has no mesh; meshes for {sorted(meshes)}")
    cameras = list(cameras)
    scene = render(list(meshes.values()), cameras)
    alone = render(meshes[person_id], cameras)
    return TrainingSample(
        cameras=cameras, images=np.asarray(images, np.float32), labels=np.asarray(labels), person_id=person_id,
        mesh=meshes[person_id], body=body, scene_depth=scene.depth, normals=alone.normal, silhouette=alone.mask,
        others=tuple(mesh for pid, mesh in meshes.items() if pid != person_id),
    )  # fmt: skip


@dataclass(frozen=True)
class PersonCrops:
    """One person's crops in V views (numpy): images (V, S, S, 3), masks / unobserved (V, S, S) bool,
    body_normals (V, S, S, 3) global normal map colours, boxes (V CropBox)."""

    images: np.ndarray
    masks: np.ndarray
    unobserved: np.ndarray
    body_normals: np.ndarray
    boxes: list[CropBox]


def crop_person(
    cameras: Sequence[Camera],
    images: np.ndarray | Sequence[np.ndarray],
    person_mask: np.ndarray | Sequence[np.ndarray],
    unobserved: np.ndarray | Sequence[np.ndarray],
    body: BodySurface,
    crop_size: int,
    margin: float,
) -> PersonCrops:
    """Square crops around the projected body in every view, with the body's global normal map rendered and cropped.
    Per view v the arrays are of its camera's size (H_v, W_v): (V, H, W, ...) arrays or V arrays of mixed sizes."""
    colors = global_normal_colors(body.rest_vertices, body.faces)
    normal_maps = render_views(Mesh(body.vertices, body.faces, attributes=colors), list(cameras), "attributes")
    boxes = [crop_box_around(camera.project(body.vertices), crop_size, margin) for camera in cameras]

    def crops(views, dtype, nearest: bool = False) -> np.ndarray:
        return np.stack([crop_image(np.asarray(view).astype(dtype), box, nearest) for view, box in zip(views, boxes)])

    return PersonCrops(
        images=crops(images, np.float32),
        masks=crops(person_mask, np.uint8, nearest=True).astype(bool),
        unobserved=crops(unobserved, np.uint8, nearest=True).astype(bool),
        body_normals=crops(normal_maps, np.float32),
        boxes=boxes,
    )


def person_inputs(
    cameras: Sequence[Camera], crops: PersonCrops, masks: np.ndarray, unobserved: np.ndarray, frame: BodyFrame,
    voxels: np.ndarray,
) -> PersonInputs:  # fmt: skip
    """PersonInputs (B = 1) from crops, (possibly augmented) masks (V, S, S), the body cube and its voxels (G, G, G)."""

    def channels_first(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(np.moveaxis(x, -1, 1)), dtype=torch.float32)[None]

    mask = torch.as_tensor(masks, dtype=torch.float32)[None, :, None]
    return PersonInputs(
        images=channels_first(crops.images) * mask,
        masks=mask,
        unobserved=torch.as_tensor(unobserved, dtype=torch.float32)[None, :, None],
        body_normals=channels_first(crops.body_normals),
        cameras=CameraTensors.from_cameras(cameras, dtype=torch.float32)[None],
        crop_affine=torch.as_tensor(np.stack([box.affine() for box in crops.boxes]), dtype=torch.float32)[None],
        body_voxels=torch.as_tensor(voxels, dtype=torch.float32)[None, None],
        body_center=torch.as_tensor(frame.center, dtype=torch.float32)[None],
        body_rotation=torch.as_tensor(frame.rotation, dtype=torch.float32)[None],
        body_half_size=torch.tensor([frame.half_size], dtype=torch.float32),
    )


def build_person_inputs(
    cameras: Sequence[Camera],
    images: np.ndarray,
    person_mask: np.ndarray,
    unobserved: np.ndarray,
    body: BodySurface,
    config: Config,
) -> tuple[PersonInputs, PersonCrops, BodyFrame]:
    """Network inputs of one person (inference path): crops, global normal maps, body cube and voxels.

    Args:
        cameras: V cameras; images: (V, H, W, 3) float RGB in [0, 1]; person_mask, unobserved: (V, H, W) bool
            (this person visible; hidden by another person); body: the fitted body; config: sizes.
    """
    crops = crop_person(cameras, images, person_mask, unobserved, body, config.inputs.crop_size, config.inputs.crop_margin)
    frame = canonical_frame(body.vertices, body.global_rotation, config.inputs.cube_half_size)
    voxels = voxelize(body.vertices, body.faces, frame, config.coarse.body_grid)
    return person_inputs(cameras, crops, crops.masks, crops.unobserved, frame, voxels), crops, frame


@dataclass(frozen=True)
class TrainingExample:
    """A batch for one step: inputs (B persons), points (B, N, 3) world, occupancy (B, N) in {0, 1},
    normals (B, V, 3, S, S) ground-truth camera-frame normals and normal_mask (B, V, 1, S, S) where they count."""

    inputs: PersonInputs
    points: torch.Tensor
    occupancy: torch.Tensor
    normals: torch.Tensor
    normal_mask: torch.Tensor

    @staticmethod
    def stack(items: Sequence["TrainingExample"]) -> "TrainingExample":
        """Concatenate along B (same V, S, G and N)."""
        return TrainingExample(
            inputs=PersonInputs.stack([item.inputs for item in items]),
            **{name: torch.cat([getattr(item, name) for item in items]) for name in ("points", "occupancy", "normals", "normal_mask")},
        )

    def to(self, device: torch.device | str) -> "TrainingExample":
        return TrainingExample(self.inputs.to(device), self.points.to(device), self.occupancy.to(device),
                               self.normals.to(device), self.normal_mask.to(device))  # fmt: skip


@dataclass(frozen=True)
class _Prepared:
    """The deterministic part of a training example: crops, body cube, voxels, normal crops, occluder pool, and of
    the sample only what drawing points needs (full-resolution views are dropped, so a cache of hundreds of people
    fits in memory)."""

    cameras: list[Camera]
    mesh: Mesh
    body: BodySurface
    scene_depth: np.ndarray
    others: tuple[Mesh, ...]
    crops: PersonCrops
    frame: BodyFrame
    voxels: np.ndarray
    normals: np.ndarray
    occluders: list[np.ndarray]


def _prepare(sample: TrainingSample, config: Config) -> _Prepared:
    inputs = config.inputs
    crops = crop_person(sample.cameras, sample.images, sample.person_mask, sample.unobserved, sample.body,
                        inputs.crop_size, inputs.crop_margin)  # fmt: skip
    frame = canonical_frame(sample.body.vertices, sample.body.global_rotation, inputs.cube_half_size)
    voxels = voxelize(sample.body.vertices, sample.body.faces, frame, config.coarse.body_grid)
    normals = np.stack([crop_image(n, box) for n, box in zip(sample.normals, crops.boxes)])
    others = [pid for pid in np.unique(sample.labels) if pid not in (0, sample.person_id + 1)]
    occluders = [m for m in crops.masks if m.any()]
    for pid in others:
        label = np.stack([crop_image((lab == pid).astype(np.uint8), box, True) for lab, box in zip(sample.labels, crops.boxes)])
        occluders += [m.astype(bool) for m in label if m.any()]
    return _Prepared(sample.cameras, sample.mesh, sample.body, sample.scene_depth, sample.others, crops, frame,
                     voxels, normals, occluders)  # fmt: skip


def make_training_example(prepared: _Prepared, config: Config, rng: np.random.Generator, augment: bool) -> TrainingExample:
    """Augment the masks (if `augment`), sample labelled points, and assemble tensors (B = 1)."""
    crops = prepared.crops
    masks, unobserved = crops.masks, crops.unobserved
    if augment:
        masks, unobserved, _ = augment_occlusion(masks, unobserved, prepared.occluders, config.sampling, rng)
    points, labels = sample_training_points(prepared.mesh, prepared.cameras, prepared.scene_depth, config.sampling,
                                            rng, prepared.others)  # fmt: skip
    visible = torch.as_tensor(masks, dtype=torch.float32)[None, :, None]
    normals = torch.as_tensor(np.ascontiguousarray(np.moveaxis(prepared.normals, -1, 1)), dtype=torch.float32)[None]
    return TrainingExample(
        inputs=person_inputs(prepared.cameras, crops, masks, unobserved, prepared.frame, prepared.voxels),
        points=torch.as_tensor(points)[None],
        occupancy=torch.as_tensor(labels)[None],
        normals=normals * visible,
        normal_mask=visible,
    )


class TrainingDataset(Dataset):
    """Training examples from samples: item i is sample i with fresh augmentation and points.

    Args:
        sources: callables that load (or make) each TrainingSample; called lazily, results cached (`cache`).
        config: sizes and sampling.
        seed: seeds each draw together with the index and a per-draw counter given to `example`.
        augment: paste occluders into the masks.
        cache: keep the prepared (deterministic) part of each sample in memory.
    """

    def __init__(self, sources: Sequence[Callable[[], TrainingSample]], config: Config, seed: int = 0,
                 augment: bool = True, cache: bool = True) -> None:  # fmt: skip
        if not sources:
            raise ValueError("TrainingDataset: argument 'sources' is empty; expected at least one sample")
        self.sources, self.config, self.seed, self.augment = list(sources), config, seed, augment
        self._prepared = functools.lru_cache(maxsize=None if cache else 1)(self._load)

    def _load(self, index: int) -> _Prepared:
        return _prepare(self.sources[index](), self.config)

    def __len__(self) -> int:
        return len(self.sources)

    def ground_truth(self, index: int) -> tuple[Mesh, BodySurface]:
        """Sample `index`'s ground-truth mesh and body (world, metres)."""
        prepared = self._prepared(index)
        return prepared.mesh, prepared.body

    def example(self, index: int, draw: int = 0) -> TrainingExample:
        """Sample `index` with augmentation and points drawn from the seed (self.seed, index, draw): reproducible."""
        rng = np.random.default_rng([self.seed, index, draw])
        return make_training_example(self._prepared(index), self.config, rng, self.augment)

    def __getitem__(self, index: int) -> TrainingExample:
        return self.example(index)


def capture_samples(capture_dir: str | Path, body_model: str | None = None) -> list[Callable[[], TrainingSample]]:
    """Lazy loaders of every (frame, person) of a synthetic capture folder (layout: docs/synth.md).

    Reads rig.yaml, images/, masks/ (label maps; object pixels count as occluders), gt/meshes/<frame>/person_<id>.ply,
    gt/body_params.json (batch (P, T): person index in gt/scene.json order x frame) and evaluates the body with
    `body_model` (default: the model named in the parameter file). Each loader renders the person alone for its
    normal targets and silhouette.
    """
    import json

    import cv2

    from body import load_params, shared_body
    from calibration.rig_file import load_rig
    from render import load_mesh

    root = Path(capture_dir)
    rig = load_rig(root / "rig.yaml", check_paths=False)
    scene = json.loads((root / "gt" / "scene.json").read_text())
    person_index = {int(p["person_id"]): i for i, p in enumerate(scene["people"])}
    params, meta = load_params(root / "gt" / "body_params.json")
    model_name = body_model or meta.get("model") or scene.get("body_model", "anny")

    def read_views(folder: str, frame: str, flags: int) -> np.ndarray:
        paths = [root / folder / camera.name / f"{frame}.png" for camera in rig.cameras]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"capture {root}: missing {missing[:3]}")
        return np.stack([cv2.imread(str(p), flags) for p in paths])

    def loader(frame: int, person: int) -> Callable[[], TrainingSample]:
        def load() -> TrainingSample:
            name = f"{frame:06d}"
            images = read_views("images", name, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0
            labels = read_views("masks", name, cv2.IMREAD_UNCHANGED).astype(np.int32)
            meshes = {int(p.stem.split("_")[1]): load_mesh(p) for p in sorted((root / "gt" / "meshes" / name).glob("person_*.ply"))}
            return render_training_sample(
                rig.cameras, images, labels, person, meshes,
                body_surface(shared_body(model_name), params, (person_index[person], frame)),
            )  # fmt: skip

        return load

    loaders = []
    for folder in sorted((root / "gt" / "meshes").iterdir()):
        for mesh_path in sorted(folder.glob("person_*.ply")):
            loaders.append(loader(int(folder.name), int(mesh_path.stem.split("_")[1])))
    return loaders
