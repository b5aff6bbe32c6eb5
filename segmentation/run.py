"""The segmentation stage on files: RUN/body/<frame>.json + the capture -> RUN/masks/<cam>/<frame>.png.

Outputs (encodings in `segmentation.labels` and docs/segmentation.md):
    RUN/masks/<cam>/<frame:06d>.png                  label map (0 background, 1 + track id)
    RUN/masks/<cam>/<frame:06d>_occluded_<id>.png    where person `id` is hidden by another person
    RUN/masks/segmentation.json                      foreground source, settings, frames done, timings
    RUN/report/segmentation/<cam>_<frame:06d>.png    colour overlay of one chosen frame

A frame is finished when every camera's label map exists (label maps are written after the occlusion masks);
finished frames are skipped unless `force`. All writes are atomic.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from calibration.atomic import atomic_write_text, write_png
from calibration.progress import ProgressLog
from calibration.rig import FrameRange, Rig
from calibration.run_layout import RunLayout
from render import Mesh
from segmentation.errors import SegmentationError
from segmentation.frame import FrameInputs, SegmentConfig, segment_frame
from segmentation.labels import index_to_label, write_label_map, write_occluded
from segmentation.overlay import draw_overlay

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class RunSummary:
    """What `segment_run` did: the foreground source, frames segmented now and skipped, seconds per frame."""

    source: str
    done: list[int]
    skipped: list[int]
    seconds_per_frame: float
    overlays: list[Path]


def choose_source(rig: Rig, background: str | None, chroma: tuple[int, int, int] | None) -> str:
    """The foreground source: an explicit plate or key first, then the capture's masks, else GrabCut."""
    if background is not None and chroma is not None:
        raise SegmentationError("segment: give either a background plate or a chroma key colour, not both")
    if background is not None:
        return "background"
    if chroma is not None:
        return "chroma"
    if rig.layout is not None and rig.layout.masks is not None:
        return "masks"
    return "grabcut"


def _find_image(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return None


def _read_rgb(path: Path) -> np.ndarray:
    from body.detection.errors import DetectionError
    from body.detection.frames import read_image

    try:
        return cv2.cvtColor(read_image(path), cv2.COLOR_BGR2RGB)
    except DetectionError as error:  # unreadable or truncated, the file named
        raise SegmentationError(str(error)) from None


def load_plates(rig: Rig, background: str) -> list[np.ndarray] | int:
    """Empty-scene plates: per camera `<PATH>/<cam>.<ext>`, or the median of the images in `<PATH>/<cam>/`;
    an integer `background` is a frame number of the capture itself (returned as int, read with the frames)."""
    if background.lstrip("-").isdigit():
        return int(background)
    root = Path(background)
    if not root.is_dir():
        raise SegmentationError(f"--background {background}: expected a frame number or a folder of plates, found neither")
    plates = []
    for camera in rig:
        folder = root / (rig.layout.camera_folder(camera.name) if rig.layout else camera.name)
        single = _find_image(root, folder.name)
        if single is not None:
            plates.append(_read_rgb(single))
        elif folder.is_dir() and (files := sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)):
            plates.append(np.median(np.stack([_read_rgb(p) for p in files]), axis=0).astype(np.uint8))
        else:
            raise SegmentationError(f"--background {root}: expected {folder.name}.png (or .jpg) or a folder {folder}/ of images")
    return plates


def fitted_body_meshes(run: RunLayout, frame: int) -> tuple[list[int], list[Mesh]]:
    """Track ids and posed body meshes of one frame of the body stage (people without a fitted body are left out)."""
    from body.frame_bodies import read_frame_bodies

    ids, meshes = [], []
    for person_id, body in read_frame_bodies(run, frame).items():
        if not body.fitted:
            logger.warning("segment: frame %d: person %d has no fitted body; left out of the masks", frame, person_id)
            continue
        ids.append(person_id)
        meshes.append(body.mesh())
    return ids, meshes


def _read_images(rig: Rig, frame: int) -> list[np.ndarray]:
    from body.detection.frames import read_camera_image

    return [read_camera_image(rig.layout, camera, frame, rig.source) for camera in rig]


def _read_masks(rig: Rig, frame: int) -> list[np.ndarray]:
    masks = []
    for camera in rig:
        folder = rig.layout.mask_dir(camera.name)
        path = _find_image(folder, f"{frame:06d}")
        if path is None:
            raise SegmentationError(f"camera {camera.name}: no mask for frame {frame} in {folder}")
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise SegmentationError(f"{path}: expected a readable mask image, OpenCV cannot read it")
        masks.append(mask)
    return masks


def _frame_finished(rig: Rig, run: RunLayout, frame: int) -> bool:
    return all(run.label_file(camera.name, frame).is_file() for camera in rig)


def segment_run(
    rig: Rig, run_dir: Path, frames: FrameRange | None = None, background: str | None = None,
    chroma: tuple[int, int, int] | None = None, overlay_frame: int | None = None, force: bool = False,
    config: SegmentConfig = SegmentConfig(),
) -> RunSummary:  # fmt: skip
    """Segment every frame of RUN/body/ (within `frames`) in every camera of `rig`; see the module docstring.

    Args:
        rig: cameras and the capture layout (images/videos, optional masks).
        run_dir: the run folder holding body/ from the body stage.
        frames: frame range to do (default: every frame of RUN/body/).
        background: folder of empty-scene plates or a frame number of an empty frame (source "background").
        chroma: key colour RGB 0-255 (source "chroma").
        overlay_frame: frame drawn to RUN/report/segmentation/ (default: the first frame; drawn when missing or `force`).
        force: redo frames whose label maps exist.
    """

    run_dir = Path(run_dir)
    available = sorted(RunLayout(run_dir).body_frames())
    if not available:
        raise SegmentationError(f"{run_dir / 'body'}: expected the body stage's <frame>.json files, found none")
    selected = set((frames or FrameRange()).frames(available[-1] + 1))
    todo = [frame for frame in available if frame in selected]
    if not todo:
        raise SegmentationError(f"--frames: none of the body stage's frames {available[0]}..{available[-1]} is selected")
    source = choose_source(rig, background, chroma)
    has_images = rig.layout is not None and (rig.layout.images is not None or rig.layout.videos is not None)
    if source != "masks" and not has_images:
        raise SegmentationError(f"{rig.source}: source {source!r} needs the capture's images, but the rig has no 'images' or 'videos'")
    plates = load_plates(rig, background) if source == "background" else None
    if isinstance(plates, int):
        plates = _read_images(rig, plates)
    overlay_frame = todo[0] if overlay_frame is None else overlay_frame
    run = RunLayout(run_dir)
    done, skipped, overlays, seconds = [], [], [], 0.0
    progress = ProgressLog("segment", len(todo), "frames")
    for frame in todo:
        finished = not force and _frame_finished(rig, run, frame)
        overlay_paths = [run.overlay_file("segmentation", c.name, frame) for c in rig]
        draw = frame == overlay_frame and (force or not all(path.is_file() for path in overlay_paths))
        if finished:
            skipped.append(frame)
            if not draw:
                progress.step(f"frame {frame}, done before")
                continue
        start = time.perf_counter()
        ids, meshes = fitted_body_meshes(run, frame)
        images = _read_images(rig, frame) if source != "masks" or (draw and has_images) else None
        inputs = FrameInputs(images=images, masks=_read_masks(rig, frame) if source == "masks" else None,
                             plates=plates, chroma=chroma)  # fmt: skip
        result = segment_frame(list(rig), meshes, ids, source, inputs, config)
        if not finished:
            for v, camera in enumerate(rig):
                for p, person_id in enumerate(ids):
                    write_occluded(run.occluded_file(camera.name, frame, person_id), result.occluded[v][p])
                write_label_map(run.label_file(camera.name, frame), index_to_label(result.index[v], ids))
            done.append(frame)
            seconds += time.perf_counter() - start
        if draw:
            for v, path in enumerate(overlay_paths):
                overlay = draw_overlay(images[v] if images else None, result.index[v], result.occluded[v], ids)
                write_png(path, cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
                overlays.append(path)
        progress.step(f"frame {frame}, {len(ids)} people")
    per_frame = seconds / max(len(done), 1)
    _write_record(run.segmentation_record, source, background, chroma, config, done, per_frame)
    return RunSummary(source=source, done=done, skipped=skipped, seconds_per_frame=per_frame, overlays=overlays)


def _write_record(path: Path, source: str, background, chroma, config: SegmentConfig, done: list[int], per_frame: float) -> None:
    """Merge this call into RUN/masks/segmentation.json (frames done so far, by source)."""
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    frames = record.get("frames", {})
    frames.update({str(frame): source for frame in done})
    record.update({
        "format": "multicap.segmentation_run", "version": 1, "source": source,
        "background": background, "chroma": list(chroma) if chroma else None, "config": asdict(config),
        "label_encoding": "0 background, 1 + track id; uint8 if all ids < 255 else uint16",
        "frames": dict(sorted(frames.items(), key=lambda item: int(item[0]))),
        "seconds_per_frame_last_call": round(per_frame, 4),
    })  # fmt: skip
    atomic_write_text(path, json.dumps(record, indent=1))
