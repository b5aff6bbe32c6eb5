"""One person in one frame: read its inputs from the capture and the run folder, reconstruct, colour, write.

This is the unit of work the executors (capture.executors) run: `reconstruct_person_frame(task)` is picklable,
reads everything it needs from disk (rig.yaml, the frame's images, RUN/masks, RUN/body of everybody in the frame) and writes
``RUN/meshes/<frame:06d>/person_<id>.ply`` atomically, so a killed run leaves either the finished mesh or none;
the mesh's record (``person_<id>.json``: method, grid, voxel size, settings; `implicit.reconstruct.write_mesh_record`)
is written just before it, for the fusion stage.
A person-frame whose reconstruction is empty (nobody there in the masks) gets ``person_<id>.empty.json`` instead,
so a rerun does not redo it.

Both methods go through `implicit.reconstruct_person`, as `capture eval` does (one grid margin, one meshing):
    "visual-hull": the masks' visual hull (implicit.visual_hull): this person's label carves, pixels where the
        segmentation says another person hides this one (RUN/masks/<cam>/<frame>_occluded_<id>.png) do not.
        Without a fitted body the grid surrounds the 3D keypoints instead (`KEYPOINT_MARGIN_M`).
    "network": the DeepMultiCap network from a checkpoint; space that another person's fitted body claims is
        outside (implicit.neighbours, `PersonFrameTask.neighbour_margin_m`).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from calibration.run_layout import RunLayout

if TYPE_CHECKING:
    from implicit.reconstruct import ReconstructionConfig

logger = logging.getLogger(__name__)

METHODS = ("network", "visual-hull")
KEYPOINT_MARGIN_M = 0.35
"""Room around the 3D keypoints' bounding box when the person has no fitted body, metres."""


class PersonFrameError(ValueError):
    """Inputs of one person-frame that cannot be used; the message names the file or field."""


@dataclass(frozen=True)
class PersonFrameTask:
    """What one worker needs to reconstruct person `person` in frame `frame` (paths as strings, picklable)."""

    rig_path: str
    run_dir: str
    frame: int
    person: int
    method: str
    resolution: int
    model_path: str | None = None
    device: str = "cpu"
    neighbour_margin_m: float | None = None
    """network: occupancy 0 where another person's fitted body is this much nearer (implicit.neighbours); None: off"""


@dataclass(frozen=True)
class PersonFrameResult:
    """What a worker did: faces written (0 = empty reconstruction), mean views per vertex, seconds."""

    frame: int
    person: int
    faces: int
    views_per_vertex: float
    voxel_size_m: float
    seconds: float


@functools.lru_cache(maxsize=4)
def _rig(path: str):
    from calibration.rig_file import load_rig

    return load_rig(path)


@functools.lru_cache(maxsize=1)
def _network(path: str, device: str):
    from implicit.training import load_model

    return load_model(path, device)


def read_images(rig, frame: int) -> list[np.ndarray]:
    """V (H, W, 3) uint8 RGB images of `frame` at the cameras' calibrated sizes (body.detection.frames rule)."""
    from body.detection.errors import DetectionError
    from body.detection.frames import read_camera_image

    try:
        return [read_camera_image(rig.layout, camera, frame, rig.source) for camera in rig]
    except DetectionError as error:
        raise PersonFrameError(str(error)) from error


def read_labels(rig, run_dir: Path, frame: int) -> list[np.ndarray]:
    """V (H, W) label maps of the segmentation stage (0 background, 1 + track id)."""
    from segmentation.labels import read_label_map

    labels = []
    for camera in rig:
        path = RunLayout(run_dir).label_file(camera.name, frame)
        if not path.is_file():
            raise PersonFrameError(f"{path}: expected the segmentation stage's label map, found none")
        labels.append(read_label_map(path))
    return labels


def read_occluded_masks(rig, run_dir: Path, frame: int, person: int, labels: list[np.ndarray]) -> list[np.ndarray]:
    """V (H, W) bool: where another person hides `person` (all False where the segmentation wrote no file)."""
    from segmentation.labels import read_occluded

    masks = []
    for camera, label in zip(rig, labels):
        path = RunLayout(run_dir).occluded_file(camera.name, frame, person)
        masks.append(read_occluded(path) if path.is_file() else np.zeros(label.shape, bool))
    return masks


def reconstruction_config(task: PersonFrameTask) -> ReconstructionConfig:
    """The task's settings as `implicit.reconstruct_person` takes them (the library's grid margin and meshing)."""
    from implicit.reconstruct import ReconstructionConfig

    return ReconstructionConfig(resolution=task.resolution, neighbour_margin_m=task.neighbour_margin_m)


def _reconstruct(task: PersonFrameTask, views, entry, surface, others):
    """(mesh, grid) of the task's person (`implicit.reconstruct_person`; the keypoints' grid without a body)."""
    from implicit.meshing import reconstruct_mesh
    from implicit.reconstruct import person_grid, reconstruct_person
    from implicit.visual_hull import VisualHull
    from render.mesh import Mesh

    config = reconstruction_config(task)
    if surface is None:
        if task.method == "network":
            raise PersonFrameError(f"frame {task.frame}, person {task.person}: the network needs a fitted body, the "
                                   "body stage has none (use --method visual-hull)")  # fmt: skip
        grid = person_grid(entry.keypoints, config, margin_m=KEYPOINT_MARGIN_M)
        hull = VisualHull(list(views.cameras), views.person_mask, views.unobserved)
        return reconstruct_mesh(hull, grid, config.meshing, anchors=entry.keypoints)[0], grid
    if task.method == "visual-hull":
        result = reconstruct_person(views, surface, None, config)
    else:
        neighbours = [Mesh(other.vertices, other.faces) for other in others]
        result = reconstruct_person(views, surface, neighbours, config, _network(task.model_path, task.device))
    return result.mesh, result.grid


def reconstruct_person_frame(task: PersonFrameTask) -> PersonFrameResult:
    """Reconstruct, colour and write one person-frame (module docstring); returns what was done."""
    from body.frame_bodies import read_frame_bodies
    from calibration.atomic import atomic_write_text
    from capture.colors import color_mesh
    from implicit.reconstruct import PersonViews, write_mesh_record
    from render import save_mesh

    if task.method not in METHODS:
        raise PersonFrameError(f"--method: expected one of {', '.join(METHODS)}, got {task.method!r}")
    start = time.perf_counter()
    run_dir = Path(task.run_dir)
    rig = _rig(task.rig_path)
    images = read_images(rig, task.frame)
    labels = read_labels(rig, run_dir, task.frame)
    occluded = read_occluded_masks(rig, run_dir, task.frame, task.person, labels)
    person_mask = [label.astype(np.int64) == task.person + 1 for label in labels]
    run = RunLayout(run_dir)
    bodies = read_frame_bodies(run, task.frame)
    if task.person not in bodies:
        raise PersonFrameError(f"{run.body_file(task.frame)}: no person with id {task.person}")
    entry, surface = bodies[task.person].person, bodies[task.person].surface
    others = [body.surface for pid, body in bodies.items() if pid != task.person and body.fitted]
    rgb = [image.astype(np.float32) / 255.0 for image in images]  # per view: cameras may differ in size
    views = PersonViews(list(rig), rgb, person_mask, occluded)
    mesh, grid = _reconstruct(task, views, entry, surface, others)
    if mesh.num_faces == 0:
        logger.warning("frame %d, person %d: empty reconstruction (not in the masks?)", task.frame, task.person)
        atomic_write_text(run.empty_marker(task.frame, task.person),
                          json.dumps({"frame": task.frame, "person": task.person, "reason": "empty occupancy"}))  # fmt: skip
        return PersonFrameResult(task.frame, task.person, 0, 0.0, grid.voxel_size, time.perf_counter() - start)
    coloured, views_per_vertex = color_mesh(mesh, list(rig), images, person_mask)
    path = run.mesh_file(task.frame, task.person)
    write_mesh_record(path, task.method, grid, reconstruction_config(task))
    save_mesh(path, coloured)
    return PersonFrameResult(task.frame, task.person, mesh.num_faces, float(views_per_vertex.mean()), grid.voxel_size,
                             time.perf_counter() - start)  # fmt: skip
