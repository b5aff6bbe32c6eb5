"""One person in one frame: read its inputs from the capture and the run folder, reconstruct, colour, write.

This is the unit of work the executors (capture.executors) run: `reconstruct_person_frame(task)` is picklable,
reads everything it needs from disk (rig.yaml, the frame's images, RUN/masks, RUN/body of everybody in the frame) and writes
``RUN/meshes/<frame:06d>/person_<id>.ply`` atomically, so a killed run leaves either the finished mesh or none.
A person-frame whose reconstruction is empty (nobody there in the masks) gets ``person_<id>.empty.json`` instead,
so a rerun does not redo it.

Methods:
    "visual-hull": the masks' visual hull (implicit.visual_hull): this person's label carves, pixels where the
        segmentation says another person hides this one (RUN/masks/<cam>/<frame>_occluded_<id>.png) do not.
    "network": the DeepMultiCap network (implicit.model.occupancy_function) from a checkpoint; space that another
        person's fitted body claims is outside (implicit.neighbours, `PersonFrameTask.neighbour_margin_m`).
Both are meshed with the same octree + marching cubes on a grid around the fitted body (implicit.meshing).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

METHODS = ("network", "visual-hull")
BODY_MARGIN_M = 0.12
"""Room around the fitted body's bounding box for clothing and hair, metres."""
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


def mesh_path(run_dir: str | Path, frame: int, person: int) -> Path:
    """``RUN/meshes/<frame:06d>/person_<id>.ply``."""
    return Path(run_dir) / "meshes" / f"{frame:06d}" / f"person_{person}.ply"


def empty_marker_path(run_dir: str | Path, frame: int, person: int) -> Path:
    """``RUN/meshes/<frame:06d>/person_<id>.empty.json``: the reconstruction was empty."""
    return Path(run_dir) / "meshes" / f"{frame:06d}" / f"person_{person}.empty.json"


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
    from segmentation.labels import label_path, read_label_map

    labels = []
    for camera in rig:
        path = label_path(run_dir / "masks" / camera.name, frame)
        if not path.is_file():
            raise PersonFrameError(f"{path}: expected the segmentation stage's label map, found none")
        labels.append(read_label_map(path))
    return labels


def read_occluded_masks(rig, run_dir: Path, frame: int, person: int, labels: list[np.ndarray]) -> list[np.ndarray]:
    """V (H, W) bool: where another person hides `person` (all False where the segmentation wrote no file)."""
    from segmentation.labels import occluded_path, read_occluded

    masks = []
    for camera, label in zip(rig, labels):
        path = occluded_path(run_dir / "masks" / camera.name, frame, person)
        masks.append(read_occluded(path) if path.is_file() else np.zeros(label.shape, bool))
    return masks


def read_frame_bodies(run_dir: Path, frame: int) -> dict:
    """{track id: (BodyPerson, BodySurface or None)} of everybody in `frame` from RUN/body/<frame>.json."""
    from body import shared_body
    from body.capture_io import body_frame_path, read_body_frame
    from implicit.dataset import body_surface_from_params

    _, people = read_body_frame(body_frame_path(run_dir, frame))
    bodies = {}
    for entry in people:
        surface = None
        if entry.params is not None:
            model = shared_body(entry.model)
            surface = body_surface_from_params(model, entry.params.to(dtype=model.dtype), ())
        bodies[entry.id] = (entry, surface)
    return bodies


def person_grid(entry, surface, resolution: int):
    """The voxel grid around the fitted body (or, without one, around the 3D keypoints)."""
    from implicit.grid import VoxelGrid

    if surface is not None:
        return VoxelGrid.for_points(surface.vertices, margin_m=BODY_MARGIN_M, resolution=resolution)
    return VoxelGrid.for_points(entry.keypoints, margin_m=KEYPOINT_MARGIN_M, resolution=resolution)


def _occupancy(task: PersonFrameTask, rig, images, person_mask, unknown, surface, other_surfaces):
    if task.method == "visual-hull":
        from implicit.visual_hull import VisualHull

        return VisualHull(list(rig), person_mask, unknown)
    if surface is None:
        raise PersonFrameError(f"frame {task.frame}, person {task.person}: the network needs a fitted body, the body "
                               "stage has none (use --method visual-hull)")  # fmt: skip
    from implicit.dataset import build_person_inputs
    from implicit.model import occupancy_function

    model = _network(task.model_path, task.device)
    stack = np.stack(images).astype(np.float32) / 255.0
    inputs, _, _ = build_person_inputs(list(rig), stack, np.stack(person_mask), np.stack(unknown), surface, model.config)
    fn = occupancy_function(model, inputs)
    if task.neighbour_margin_m is None:
        return fn
    from implicit.neighbours import exclude_neighbours
    from render.mesh import Mesh

    return exclude_neighbours(fn, Mesh(surface.vertices, surface.faces),
                              [Mesh(other.vertices, other.faces) for other in other_surfaces], task.neighbour_margin_m)  # fmt: skip


def reconstruct_person_frame(task: PersonFrameTask) -> PersonFrameResult:
    """Reconstruct, colour and write one person-frame (module docstring); returns what was done."""
    from calibration.atomic import atomic_write_text
    from capture.colors import color_mesh
    from implicit.meshing import reconstruct_mesh
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
    bodies = read_frame_bodies(run_dir, task.frame)
    if task.person not in bodies:
        from body.capture_io import body_frame_path

        raise PersonFrameError(f"{body_frame_path(run_dir, task.frame)}: no person with id {task.person}")
    entry, surface = bodies[task.person]
    others = [other for pid, (_, other) in bodies.items() if pid != task.person and other is not None]
    grid = person_grid(entry, surface, task.resolution)
    fn = _occupancy(task, rig, images, person_mask, occluded, surface, others)
    mesh, _ = reconstruct_mesh(fn, grid, anchors=surface.vertices if surface is not None else entry.keypoints)
    if mesh.num_faces == 0:
        logger.warning("frame %d, person %d: empty reconstruction (not in the masks?)", task.frame, task.person)
        atomic_write_text(empty_marker_path(run_dir, task.frame, task.person),
                          json.dumps({"frame": task.frame, "person": task.person, "reason": "empty occupancy"}))  # fmt: skip
        return PersonFrameResult(task.frame, task.person, 0, 0.0, grid.voxel_size, time.perf_counter() - start)
    coloured, views = color_mesh(mesh, list(rig), images, person_mask)
    save_mesh(mesh_path(run_dir, task.frame, task.person), coloured)
    return PersonFrameResult(task.frame, task.person, mesh.num_faces, float(views.mean()), grid.voxel_size,
                             time.perf_counter() - start)  # fmt: skip
