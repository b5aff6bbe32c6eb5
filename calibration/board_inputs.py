"""Calibration inputs: where each camera's images are (image folders, camera-prefixed files, one video per camera),
reading them, and finding the board in all of them.

Supported layouts (documented in docs/calibration.md):
    images/<camera>/<anything>.jpg|png|...      one sub-folder per camera
    images/<camera>_<frame>.jpg|png|...         flat folder; the camera name may itself contain underscores
                                                (cam_0_frame_000.jpg: camera cam_0, frame frame_000): the split
                                                is the one that matches the most frames between cameras
    videos/<camera>.mp4|avi|mov|mkv|...         one video per camera, assumed synchronised (same frame index =
                                                same moment)
Views of different cameras are matched by a frame key: for images the file name with the camera name removed
(so cam1/000012.png and cam2/000012.png, or cam1_000012.png and cam2_000012.png, are one moment), for videos
the frame index.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calibration.board import POLARITIES, Board, BoardError, Detection, detect_board, explain_missing
from calibration.errors import RigError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


class InputError(RigError):
    """A calibration input folder or file is missing or laid out in an unsupported way (printed without traceback)."""


@dataclass(frozen=True)
class CameraImages:
    """The images of one camera: frame key -> image file."""

    camera: str
    files: dict[str, Path]

    def frames(self) -> Iterator[tuple[str, str, np.ndarray]]:
        """Yields (frame key, source label, BGR uint8 image) in key order; unreadable files are skipped with a warning."""
        for key in sorted(self.files):
            image = cv2.imread(str(self.files[key]), cv2.IMREAD_COLOR)
            if image is None:
                logger.warning("camera %s: could not read %s, skipped", self.camera, self.files[key])
                continue
            yield key, self.files[key].name, image


@dataclass(frozen=True)
class CameraVideo:
    """One camera's video, sampled every `every`-th frame, at most `max_frames` frames (spread over the video)."""

    camera: str
    path: Path
    every: int = 10
    max_frames: int = 100

    def frames(self) -> Iterator[tuple[str, str, np.ndarray]]:
        """Yields (frame key = zero-padded frame index, source label, BGR uint8 image)."""
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise InputError(f"{self.path}: cannot open the video (unsupported codec or not a video)")
        try:
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            step = self.every
            if count > 0 and count // step > self.max_frames:
                step = int(np.ceil(count / self.max_frames))  # spread the samples over the whole video
            index, taken = 0, 0
            while taken < self.max_frames:
                if not capture.grab():
                    break
                if index % step == 0:
                    ok, image = capture.retrieve()
                    if ok:
                        taken += 1
                        yield f"{index:06d}", f"{self.path.name}#{index}", image
                index += 1
        finally:
            capture.release()


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def find_image_sets(folder: str | Path) -> list[CameraImages]:
    """The cameras' images under `folder` (sub-folder per camera, or flat files named `<camera>_...`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--images: expected a folder, but {folder} does not exist")
    sets = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = _images_in(sub)
        if files:
            keys = {}
            for path in files:
                key = path.stem.replace(sub.name, "", 1) or path.stem
                keys[key] = path
            sets.append(CameraImages(sub.name, keys))
    if sets:
        return sets
    files = _images_in(folder)
    if not files:
        raise InputError(
            f"--images: no images ({', '.join(IMAGE_SUFFIXES)}) in {folder} or its sub-folders; expected "
            "<folder>/<camera>/*.jpg or <folder>/<camera>_<frame>.jpg"
        )
    for path in files:
        if "_" not in path.stem.strip("_"):
            raise InputError(
                f"--images: {path.name} is not named <camera>_<frame>{path.suffix}; put each camera's images in a "
                f"sub-folder named after the camera, or name files like cam01_0001{path.suffix}"
            )
    grouped = split_camera_names([path.stem for path in files])
    by_stem = {path.stem: path for path in files}
    return [
        CameraImages(camera, {frame: by_stem[stem] for frame, stem in frames.items()})
        for camera, frames in sorted(grouped.items())
    ]


def split_camera_names(stems: list[str]) -> dict[str, dict[str, str]]:
    """Split file stems `<camera>_<frame>` into camera -> frame key -> stem, where the camera may contain "_".

    Each candidate split (after the 1st, 2nd, ... underscore) is scored by how many frame keys two or more cameras
    share (the moments that tie cameras together), then by the number of cameras, then by whether every camera
    name ends in a digit, then by the shorter camera name: `cam_0_frame_000, cam_1_frame_000` gives cameras
    cam_0, cam_1 (frame key frame_000), not one camera "cam"; `cam01_0001, cam02_0001` gives cam01, cam02.
    """
    parts = [stem.split("_") for stem in stems]
    best: tuple[tuple[int, int, bool, int], dict[str, dict[str, str]]] | None = None
    for cut in range(1, max(len(p) for p in parts)):
        grouped: dict[str, dict[str, str]] = {}
        for stem, tokens in zip(stems, parts):
            cut_here = min(cut, len(tokens) - 1)
            grouped.setdefault("_".join(tokens[:cut_here]), {})["_".join(tokens[cut_here:])] = stem
        if sum(len(frames) for frames in grouped.values()) < len(stems):
            continue  # two files would share a camera and frame key
        counts = Counter(key for frames in grouped.values() for key in frames)
        shared = sum(1 for n in counts.values() if n > 1)
        numbered = all(camera[-1:].isdigit() for camera in grouped)
        score = (shared, len(grouped), numbered, -cut)
        if best is None or score > best[0]:
            best = (score, grouped)
    assert best is not None  # cut = 1 always gives unique (camera, frame) pairs for distinct stems
    return best[1]


def find_videos(folder: str | Path, every: int = 10, max_frames: int = 100) -> list[CameraVideo]:
    """One CameraVideo per video file in `folder` (camera = file stem)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--videos: expected a folder, but {folder} does not exist")
    if every < 1 or max_frames < 1:
        raise InputError(f"video sampling: expected every >= 1 and max frames >= 1, got {every} and {max_frames}")
    videos = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    if not videos:
        raise InputError(f"--videos: no videos ({', '.join(VIDEO_SUFFIXES)}) in {folder}; expected <folder>/<camera>.mp4")
    return [CameraVideo(p.stem, p, every, max_frames) for p in videos]


def detect_sources(
    sources: list[CameraImages | CameraVideo], board: Board, progress=None, polarity: str = "auto"
) -> tuple[dict[str, dict[str, Detection]], dict[str, int]]:
    """Find `board` in every frame of every camera: (camera -> frame key -> Detection, camera -> frames searched).

    `polarity` (one of POLARITIES): "normal" (black on white), "inverted" (white on black) or "auto" (both).
    ChArUco boards are also searched mirrored (a transparent board seen from behind). Each frame is searched
    first in the way that last found the board in that camera, then in the others; `Detection.inverted` and
    `Detection.mirrored` record which found it. `progress(camera, found, searched)` is called after each camera
    with its detections. Raises BoardError, naming the camera and saying what was found instead (and which
    polarities were searched), when a camera has no detection at all.
    """
    if polarity not in POLARITIES:
        raise BoardError(f"board polarity: expected one of {', '.join(POLARITIES)}, got {polarity!r}")
    detections: dict[str, dict[str, Detection]] = {}
    searched: dict[str, int] = {}
    for source in sources:
        found: dict[str, Detection] = {}
        samples: list[tuple[str, np.ndarray]] = []
        polarities = {"auto": (False, True), "normal": (False,), "inverted": (True,)}[polarity]
        sides = (False, True) if board.kind == "charuco" else (False,)
        order = [(inverted, mirrored) for mirrored in sides for inverted in polarities]
        count = 0
        for key, label, image in source.frames():
            count += 1
            for way in list(order):
                detection = detect_board(image, board, label, inverted=way[0], mirrored=way[1])
                if detection is not None:
                    found[key] = detection
                    order.sort(key=lambda other: other != way)  # remembered: tried first next time
                    break
            else:
                if len(samples) < 3:
                    samples.append((label, image))
        if not found:
            raise BoardError(explain_missing(samples, board, source.camera, count, polarity))
        detections[source.camera], searched[source.camera] = found, count
        if progress is not None:
            progress(source.camera, found, count)
    return detections, searched


def describe_polarity(found: dict[str, Detection]) -> str:
    """How a camera saw the board: "black on white", "inverted (white on black)" or "N of M inverted", plus
    ", seen mirrored (from behind) in N of M" when some detections were mirrored."""
    inverted = sum(d.inverted for d in found.values())
    mirrored = sum(d.mirrored for d in found.values())
    text = {0: "black on white", len(found): "inverted (white on black)"}.get(
        inverted, f"{inverted} of {len(found)} inverted"
    )
    return text + (f", seen mirrored (from behind) in {mirrored} of {len(found)}" if mirrored else "")
