"""The keypoint stage: detect everyone in every view of a capture, frame by frame, guided by the rig.

Per frame (frame-major): every view is detected on the full image and on tiles sized from the rig
(:func:`body.detection.rig_scale.tile_sizes`); the views are associated and triangulated
(:class:`body.association.Associator`); a person triangulated from two or more views is projected into every view
that missed them, and so is a person of the previous frame that this frame lost, and the detector runs again on
those crops; duplicates are merged by OKS. The result is written as OpenPose JSON
``OUT/keypoints/<camera>/<frame:06d>.json``, and per view and frame the people expected (projected from the 3D
result) and found go to ``OUT/report/keypoints/coverage.json``. Frames whose files exist are read, not detected again,
unless ``force``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from body.detection.detector import KeypointDetector
from body.detection.errors import DetectionError
from body.detection.multiperson import CropPassConfig, detect_in_boxes, detect_people, merge_duplicates
from body.detection.openpose_json import read_openpose_json, write_openpose_json
from body.detection.people import PersonKeypoints
from body.detection.rig_scale import box_overlap, expected_box, tile_sizes
from calibration.rig import FrameRange, select_frames
from calibration.run_layout import RunLayout

logger = logging.getLogger(__name__)

TRACK_MATCH_M = 0.5
"""A previous frame's person is still there when a person of this frame has its joints' centroid this near, metres."""
COVERAGE_FILE = "coverage.json"


@dataclass(frozen=True)
class KeypointStageConfig:
    """Settings of :func:`run_keypoint_stage`."""

    detector: str = "blazepose"
    """Detector backend (``body.detection.DETECTORS``)."""
    layout: str = "body25"
    """Keypoint layout written."""
    max_people: int = 6
    """Most people per image or crop."""
    tile_size: int | None = None
    """Tile side in pixels for every view; None: per view from the rig (``rig_scale.tile_sizes``); 0: no tiles."""
    redetect: bool = True
    """Detect again in views that missed a triangulated or previously tracked person (rig-guided crops)."""
    overlay_frame: int | None = None
    """Frame drawn to ``OUT/report/keypoints/<camera>_<frame>.png``; None: each camera's first frame."""
    force: bool = False
    """Detect frames whose JSON already exists again."""


@dataclass
class KeypointSummary:
    """What :func:`run_keypoint_stage` did.

    Attributes:
        written: keypoint files written; skipped: files that existed and were read instead.
        coverage: ``{frame: {camera: {"expected": n, "found": n, "detections": n}}}``: people triangulated from
            >= 2 views that project into the view, how many of them the view's detections include, and how many
            detections the view has (duplicates and people seen in this view only included).
        tile_sizes: tile side per camera, pixels (0 = none).
        overlays: overlay images written.
    """

    written: int = 0
    skipped: int = 0
    coverage: dict[int, dict[str, dict[str, int]]] = field(default_factory=dict)
    tile_sizes: dict[str, int] = field(default_factory=dict)
    overlays: list[Path] = field(default_factory=list)

    def totals(self) -> dict[str, tuple[int, int]]:
        """Per camera, (found, expected) summed over frames."""
        result: dict[str, tuple[int, int]] = {}
        for views in self.coverage.values():
            for camera, entry in views.items():
                found, expected = result.get(camera, (0, 0))
                result[camera] = (found + entry["found"], expected + entry["expected"])
        return result


def select_camera_frames(rig, cameras: list[str], frames: FrameRange | None) -> dict[str, list[int]]:
    """Per camera, its frames on disk that --frames (else the rig's range) selects. Frames outside every view's
    data are a FrameSelectionError; a frame missing from some views only is logged as a warning naming the camera
    and frames (the other views are still detected; `capture body` flags the frame)."""
    from body.detection.frames import camera_frame_numbers

    on_disk = {camera: camera_frame_numbers(rig.layout, camera, FrameRange()) for camera in cameras}
    source = f"the capture's {'images' if rig.layout.images is not None else 'videos'} ({rig.source})"
    available = sorted(set().union(*on_disk.values()))
    if frames is None:  # the rig's own range, bounded by the data
        in_range = set(rig.layout.frames.frames(available[-1] + 1 if available else 0))
        wanted = [frame for frame in available if frame in in_range]
    else:
        wanted = select_frames(frames, available, source)
    selected = {}
    for camera, available in on_disk.items():
        have = set(available)
        selected[camera] = [frame for frame in wanted if frame in have]
        missing = [frame for frame in wanted if frame not in have]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            logger.warning("camera %s: no image for %d of the %d selected frames (%s) in %s; the other views' "
                           "keypoints are still written", camera, len(missing), len(wanted), shown,
                           rig.layout.image_dir(camera) or rig.layout.video_file(camera))  # fmt: skip
    return selected


def run_keypoint_stage(
    rig,
    out_dir: Path,
    frames: Mapping[str, list[int]],
    config: KeypointStageConfig = KeypointStageConfig(),
    detector: KeypointDetector | None = None,
    progress: Callable[[str], None] | None = None,
) -> KeypointSummary:
    """Detect the 2D keypoints of everyone in the selected frames of a capture (see the module docstring).

    Args:
        rig: a ``calibration.rig.Rig`` with a capture layout (images or videos).
        out_dir: run folder; writes ``out_dir/keypoints/`` and ``out_dir/report/keypoints/`` (overlays, coverage).
        frames: per camera name, its frame numbers to process (ascending); cameras absent are not used.
        detector: a detector to use instead of creating ``config.detector`` (its layout is then the output's).
        progress: called once per image processed, with a label such as ``"cam01 frame 12"``.
    Returns:
        A :class:`KeypointSummary`; ``out_dir/report/keypoints/coverage.json`` keeps the coverage of every frame
        processed so far (earlier runs' frames included).
    Raises:
        DetectionError: unreadable images, sizes that do not fit the rig, an unknown detector.
    """
    from body.detection.registry import create_detector

    cameras = [rig[name] for name in frames]
    summary = KeypointSummary()
    if config.tile_size is None:
        summary.tile_sizes = tile_sizes(cameras)
    else:
        summary.tile_sizes = {camera.name: max(config.tile_size, 0) for camera in cameras}
    logger.info("keypoints: tile sizes %s px (0: none)", summary.tile_sizes)
    owned = detector is None
    if owned:
        detector = create_detector(config.detector, layout=config.layout, max_people=config.max_people)
    try:
        _FrameLoop(rig, Path(out_dir), frames, config, detector, summary, progress).run()
    finally:
        if owned:
            detector.close()
    return summary


class _FrameLoop:
    """The frame-major loop of :func:`run_keypoint_stage` (state: readers, the previous frame's people)."""

    def __init__(self, rig, out_dir, frames, config, detector, summary, progress) -> None:
        from body.association import Associator

        self.rig, self.out, self.frames, self.config = rig, out_dir, frames, config
        self.detector, self.summary, self.progress = detector, summary, progress or (lambda label: None)
        self.cameras = [rig[name] for name in frames]
        self.associator = Associator(self.cameras, detector.layout.name)
        self.crop = {name: CropPassConfig(tile_size=size) for name, size in summary.tile_sizes.items()}
        self.previous: list = []
        self.run_folder = RunLayout(out_dir)
        self.coverage_path = self.run_folder.report_dir / "keypoints" / COVERAGE_FILE
        self.overlays = {name: self._overlay_frame(name) for name in frames}
        self.readers = {name: self._reader(name) for name in frames}

    def _path(self, camera: str, frame: int) -> Path:
        return self.run_folder.keypoint_file(camera, frame)

    def _overlay_frame(self, camera: str) -> tuple[int | None, Path]:
        frames = self.frames[camera]
        frame = self.config.overlay_frame if self.config.overlay_frame is not None else (frames[0] if frames else 0)
        return frame, self.run_folder.overlay_file("keypoints", camera, frame)

    def _todo(self, camera: str, frame: int) -> bool:
        return self.config.force or not self._path(camera, frame).exists()

    def _needs_image(self, camera: str, frame: int) -> bool:
        overlay, png = self.overlays[camera]
        return self._todo(camera, frame) or (frame == overlay and not png.exists())

    def _reader(self, camera: str) -> Iterator[tuple[int, np.ndarray]]:
        """The camera's images of the frames that need one, listed now (before this run writes any file)."""
        from body.detection.frames import read_camera_frames

        needed = [frame for frame in self.frames[camera] if self._needs_image(camera, frame)]
        return read_camera_frames(self.rig.layout, camera, needed)

    def run(self) -> None:
        coverage = self._read_coverage()
        for frame in sorted(set().union(*map(set, self.frames.values()))):
            views = [camera.name for camera in self.cameras if frame in self.frames[camera.name]]
            self.summary.coverage[frame] = self._frame(frame, views)
            coverage[str(frame)] = self.summary.coverage[frame]
        ordered = dict(sorted(coverage.items(), key=lambda item: int(item[0])))
        if self.summary.coverage and ordered != self._read_coverage():
            from calibration.atomic import atomic_write_text

            atomic_write_text(self.coverage_path, json.dumps(ordered, indent=1) + "\n")

    def _read_coverage(self) -> dict:
        try:
            document = json.loads(self.coverage_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return document if isinstance(document, dict) else {}

    def _frame(self, frame: int, views: list[str]) -> dict[str, dict[str, int]]:
        """Detect (or read) one frame in every view, re-detect where people were missed, write; its coverage."""
        from body.detection.frames import conform_to_camera

        images = {name: conform_to_camera(next(self.readers[name])[1], self.rig[name], frame, self.rig.source)
                  for name in views if self._needs_image(name, frame)}  # fmt: skip
        todo = [name for name in views if self._todo(name, frame)]
        people: dict[str, list[PersonKeypoints]] = {}
        for name in views:
            if name in todo:
                people[name] = detect_people(self.detector, images[name], None, self.crop[name])
            else:
                people[name] = self._read(self._path(name, frame))
        found = self._associate(frame, people)
        if self.config.redetect and todo:
            extra = {name: self._redetect(images[name], self.rig[name], missed)
                     for name, missed in self._missed(found, people, todo).items()}  # fmt: skip
            for name, new in extra.items():  # the people found where the rig says they are come first
                people[name] = merge_duplicates(people[name], self.crop[name], merge_duplicates(new, self.crop[name]))
            if any(extra.values()):
                found = self._associate(frame, people)
        for name in views:
            if name in todo:
                write_openpose_json(self._path(name, frame), people[name], self.detector.name, self.detector.layout.name)
                self.summary.written += 1
            else:
                self.summary.skipped += 1
            self._write_overlay(name, frame, images.get(name), people[name], redone=name in todo)
            self.progress(f"{name} frame {frame}")
        self.previous = found
        return self._coverage(found, people, views)

    def _read(self, path: Path) -> list[PersonKeypoints]:
        """A finished view's people in the detector's layout (a file without people may name no layout)."""
        layout = self.detector.layout.name
        try:
            people = read_openpose_json(path)
        except DetectionError:
            people = read_openpose_json(path, layout)
        return [person.to_layout(layout) for person in people]

    def _associate(self, frame: int, people: dict[str, list[PersonKeypoints]]) -> list:
        """The people of the frame triangulated from >= 2 views (``body.association.Person3D``)."""
        from body.keypoint_io import FrameDetections

        joints = len(self.detector.layout)
        keypoints, confidence = [], []
        for camera in self.cameras:
            found = people.get(camera.name, [])
            keypoints.append(np.array([p.keypoints for p in found]).reshape(-1, joints, 2))
            confidence.append(np.array([p.confidence for p in found]).reshape(-1, joints))
        detections = FrameDetections(frame, self.detector.layout.name, keypoints, confidence)
        return [person for person in self.associator(detections) if person.num_views >= 2]

    def _missed(self, found: list, people: dict[str, list[PersonKeypoints]], todo: list[str]) -> dict[str, list]:
        """Per view in ``todo``, the 3D people (``Person3D``) to look for again: those triangulated from other views
        that project into it, and those of the previous frame that this frame lost, where no detection lies (box
        overlap under 0.5)."""
        missed: dict[str, list] = {name: [] for name in todo}
        for person in found:
            for view, camera in enumerate(self.cameras):
                if camera.name in missed and view not in person.detections:
                    if expected_box(camera, person.keypoints, person.confidence) is not None:
                        missed[camera.name].append(person)
        centroids = [_centroid(person) for person in found]
        for person in self.previous:
            if any(np.linalg.norm(_centroid(person) - c) < TRACK_MATCH_M for c in centroids):
                continue
            for camera in self.cameras:
                box = expected_box(camera, person.keypoints, person.confidence) if camera.name in missed else None
                if box is not None and all(box_overlap(box, p.bbox) < 0.5 for p in people[camera.name]):
                    missed[camera.name].append(person)
        return missed

    def _redetect(self, image: np.ndarray, camera, missed: list) -> list[PersonKeypoints]:
        """Per missed 3D person, the detection in a crop around its projection that matches the projected joints
        (``body.detection.evaluation.match_people``), if any: other people in the crop are left to the passes
        that found them."""
        found = []
        for person in missed:
            box = expected_box(camera, person.keypoints, person.confidence)
            match = _matching(detect_in_boxes(self.detector, image, box[None], self.crop[camera.name]), camera, person)
            found += [match] if match is not None else []
        return found

    def _coverage(self, found: list, people: dict[str, list[PersonKeypoints]], views: list[str]) -> dict:
        coverage = {}
        for view, camera in enumerate(self.cameras):
            if camera.name not in views:
                continue
            expected = [p for p in found if expected_box(camera, p.keypoints, p.confidence) is not None]
            coverage[camera.name] = {
                "expected": len(expected),
                "found": sum(view in p.detections for p in expected),
                "detections": len(people[camera.name]),
            }
        return coverage

    def _write_overlay(self, camera: str, frame: int, image: np.ndarray | None, people: list, redone: bool) -> None:
        overlay, png = self.overlays[camera]
        if frame != overlay or image is None or (png.exists() and not redone):
            return
        import cv2

        from body.detection.overlay import draw_people
        from calibration.atomic import write_png

        write_png(png, cv2.cvtColor(draw_people(image, people), cv2.COLOR_RGB2BGR))
        self.summary.overlays.append(png)


def _matching(detections: list[PersonKeypoints], camera, person) -> PersonKeypoints | None:
    """The detection matching a 3D person's (``Person3D``) joints projected into ``camera``, or None
    (``body.detection.evaluation.match_people``: median joint distance under half the projected box size)."""
    from body.detection.evaluation import match_people, reference_size

    pixels = camera.project(person.keypoints)
    visible = (person.confidence > 0) & camera.sees(person.keypoints)
    (match,) = match_people(detections, [pixels], [visible], [max(reference_size(pixels, visible), 1.0)])
    return match


def _centroid(person) -> np.ndarray:
    """(3,) mean of a ``Person3D``'s triangulated joints, metres."""
    return person.keypoints[person.confidence > 0].mean(axis=0)
