"""2D keypoint input of a capture: one folder per camera, one JSON file per frame, several file formats.

Folder layout: ``<keypoints>/<camera folder>/<file>.json`` (the camera folder is the camera's name unless the
rig maps it, ``folder:`` in rig.yaml). A file belongs to the frame given by the *last integer in its name*
(without ``.json``), so OpenPose's ``<name>_<frame:012d>_keypoints.json``, Pose2Sim's ``cam01.0000.json`` and
this project's ``000000.json`` all work.

Formats (``KEYPOINT_FORMATS``):

- ``openpose``: OpenPose ``--write_json`` files (BODY_25, BODY_25B, COCO-18, ...: pass the layout, OpenPose
  files do not name it, unless the files carry this project's top-level ``layout`` key, as ``capture keypoints``
  and ``capture synth`` write them); read by :func:`body.detection.read_openpose_json`.
- ``easymocap``: EasyMocap ``annots`` files: ``{"annots": [{"personID", "bbox", "keypoints": [[x, y, c], ...]}]}``
  (BODY_25 unless told otherwise).
- ``synthetic``: the synthetic captures' ``keypoints/`` (and :mod:`synth.detector_sim` output): OpenPose JSON
  with this project's top-level ``layout`` key, so no layout needs to be passed.

Bad input never stops a whole run: a missing camera folder, a missing frame file or a malformed file leaves
that view empty for that frame and adds a message naming the file and field to :attr:`FrameDetections.problems`.
Pixel convention: pixel centres at integer coordinates, origin top-left (like ``Camera.project``).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from body.detection.errors import DetectionError
from body.detection.openpose_json import read_openpose_json
from body.keypoint_layouts import get_layout

logger = logging.getLogger(__name__)

KEYPOINT_FORMATS = ("openpose", "easymocap", "synthetic")
DEFAULT_LAYOUT = {"openpose": None, "easymocap": "body25", "synthetic": None}
_INTEGER = re.compile(r"\d+")


def frame_number(path: str | Path) -> int | None:
    """The last integer in the file name without its ``.json`` suffix (None if it has none).

    >>> frame_number("cam01.0012.json"), frame_number("run_000000000007_keypoints.json"), frame_number("000003.json")
    (12, 7, 3)
    """
    name = Path(path).name
    stem = name[: -len(".json")] if name.lower().endswith(".json") else name
    numbers = _INTEGER.findall(stem)
    return int(numbers[-1]) if numbers else None


def frame_files(folder: str | Path) -> dict[int, Path]:
    """``{frame: path}`` of the ``.json`` files in ``folder`` (raises DetectionError if two files share a frame)."""
    files: dict[int, Path] = {}
    for path in sorted(Path(folder).glob("*.json")):
        frame = frame_number(path)
        if frame is None:
            continue
        if frame in files:
            raise DetectionError(
                f"{folder}: files {files[frame].name} and {path.name} both map to frame {frame} (the last integer "
                "in a file name is its frame number)"
            )
        files[frame] = path
    return files


def read_easymocap_annots(path: str | Path, layout: str = "body25") -> tuple[np.ndarray, np.ndarray]:
    """People of an EasyMocap ``annots`` JSON file -> keypoints (N, K, 2) pixels and confidences (N, K)."""
    path = Path(path)
    joints = len(get_layout(layout))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DetectionError(f"{path}: not valid JSON ({error})") from error
    annots = document.get("annots") if isinstance(document, dict) else None
    if not isinstance(annots, list):
        raise DetectionError(f"{path}: field 'annots': expected a list of people, got {type(annots).__name__}")
    keypoints, confidence = [], []
    for index, entry in enumerate(annots):
        values = entry.get("keypoints") if isinstance(entry, dict) else None
        try:
            values = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            values = np.zeros(0)
        if values.shape != (joints, 3) or not np.all(np.isfinite(values)):
            raise DetectionError(
                f"{path}: field 'annots[{index}].keypoints': expected {joints} x [x, y, c] finite numbers for layout "
                f"{layout!r}, got shape {values.shape}"
            )
        keypoints.append(values[:, :2])
        confidence.append(np.clip(values[:, 2], 0.0, 1.0))
    return _stack(keypoints, confidence, joints)


def read_keypoint_file(path: str | Path, format: str, layout: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """One view's people in one frame -> keypoints (N, K, 2), confidences (N, K) and the layout name.

    ``layout`` may be None for ``synthetic`` files (they name it) and ``easymocap`` (BODY_25).
    """
    if format not in KEYPOINT_FORMATS:
        raise DetectionError(f"keypoint format: expected one of {KEYPOINT_FORMATS}, got {format!r}")
    layout = layout or DEFAULT_LAYOUT[format]
    if format == "easymocap":
        keypoints, confidence = read_easymocap_annots(path, layout)
        return keypoints, confidence, get_layout(layout).name
    people = read_openpose_json(path, layout)
    if layout is None:
        layout = people[0].layout if people else json.loads(Path(path).read_text(encoding="utf-8"))["layout"]
    joints = len(get_layout(layout))
    return (*_stack([p.keypoints for p in people], [p.confidence for p in people], joints), get_layout(layout).name)


def _stack(keypoints: list, confidence: list, joints: int) -> tuple[np.ndarray, np.ndarray]:
    if not keypoints:
        return np.zeros((0, joints, 2)), np.zeros((0, joints))
    return np.stack(keypoints), np.stack(confidence)


@dataclass
class FrameDetections:
    """Every view's 2D detections in one frame.

    Attributes:
        frame: frame number.
        layout: keypoint layout name of all detections (K joints).
        keypoints: per view v, (N_v, K, 2) pixels (N_v may be 0).
        confidence: per view v, (N_v, K) in [0, 1]; 0 = joint missing.
        problems: messages about input that could not be used (file + field), for the run's log/report.
    """

    frame: int
    layout: str
    keypoints: list[np.ndarray]
    confidence: list[np.ndarray]
    problems: list[str] = field(default_factory=list)

    @property
    def num_views(self) -> int:
        return len(self.keypoints)

    @classmethod
    def empty(cls, frame: int, layout: str, num_views: int) -> FrameDetections:
        joints = len(get_layout(layout))
        return cls(frame, layout, [np.zeros((0, joints, 2))] * num_views, [np.zeros((0, joints))] * num_views)


class KeypointSource:
    """Reads the detections of V cameras frame by frame.

    Args:
        folders: per camera (rig order), its keypoint folder.
        format: one of ``KEYPOINT_FORMATS``.
        layout: the files' keypoint layout; None: the layout the files name (this project's ``layout`` key),
            an error if they name none.
    """

    def __init__(self, folders: list[Path], format: str, layout: str | None) -> None:
        if format not in KEYPOINT_FORMATS:
            raise DetectionError(f"--keypoint-format: expected one of {KEYPOINT_FORMATS}, got {format!r}")
        self.format = format
        self.folders = [Path(folder) for folder in folders]
        self.problems: list[str] = []
        self.files: list[dict[int, Path]] = []
        for folder in self.folders:
            if not folder.is_dir():
                self.problems.append(f"{folder}: keypoint folder does not exist; this view has no detections")
                self.files.append({})
                continue
            self.files.append(frame_files(folder))
            if not self.files[-1]:
                self.problems.append(f"{folder}: no .json keypoint files; this view has no detections")
        for message in self.problems:
            logger.warning(message)
        self.layout = get_layout(layout).name if layout else self._layout_from_files()

    def _layout_from_files(self) -> str:
        """The layout named by the first readable file of a view (files of other tools name none)."""
        for files in self.files:
            path = next(iter(files.values()), None)
            if path is None:
                continue
            try:
                return read_keypoint_file(path, self.format, None)[2]
            except (DetectionError, OSError, KeyError, IndexError, TypeError):
                continue
        raise DetectionError(
            f"--layout: the {self.format} keypoint files (e.g. {self._first_file()}) do not name their layout; "
            "pass --layout body25, body25b, coco18, ..."
        )

    def _first_file(self) -> Path | None:
        return next((path for files in self.files for path in files.values()), None)

    def frames(self) -> list[int]:
        """Sorted frame numbers found in any view."""
        return sorted(set().union(*(files.keys() for files in self.files)))

    def read(self, frame: int) -> FrameDetections:
        """The frame's detections; unusable views are empty and explained in ``problems``."""
        detections = FrameDetections.empty(frame, self.layout, len(self.folders))
        for view, files in enumerate(self.files):
            path = files.get(frame)
            if path is None:
                if files:
                    detections.problems.append(f"{self.folders[view]}: no keypoint file for frame {frame}")
                continue
            try:
                keypoints, confidence, layout = read_keypoint_file(path, self.format, self.layout)
            except (DetectionError, OSError, UnicodeDecodeError) as error:
                detections.problems.append(str(error))
                continue
            except (AttributeError, TypeError, KeyError) as error:  # a JSON value of the wrong kind
                detections.problems.append(f"{path}: unexpected structure for {self.format} keypoints ({error!r})")
                continue
            if layout != self.layout:
                detections.problems.append(f"{path}: field 'layout': expected {self.layout!r}, got {layout!r}")
                continue
            detections.keypoints[view], detections.confidence[view] = keypoints, confidence
        return detections
