"""The images of one camera of a capture (``rig.yaml``'s capture layout), frame by frame, as RGB arrays.

Layouts (docs/rig-format.md): ``images/<camera folder>/<frame:06d>.jpg`` (or .jpeg/.png: any file whose stem
is the frame number) or ``videos/<camera folder>.mp4`` (frame = index of the decoded frame, from 0).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from body.detection.errors import DetectionError
from calibration.rig import CaptureLayout, FrameRange

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def _image_files(folder: Path) -> dict[int, Path]:
    files: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.stem.isdigit():
            files.setdefault(int(path.stem), path)
    return files


def _source(layout: CaptureLayout, camera: str) -> Path:
    source = layout.image_dir(camera) or layout.video_file(camera)
    if source is None:
        raise DetectionError(f"camera {camera}: the rig's capture section names neither 'images' nor 'videos'")
    if not source.exists():
        raise DetectionError(f"camera {camera}: expected {source}, which does not exist")
    return source


def _video_frame_count(path: Path) -> int:
    video = cv2.VideoCapture(str(path))
    try:
        if not video.isOpened():
            raise DetectionError(f"{path}: OpenCV cannot open this video")
        return int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        video.release()


def camera_frame_numbers(layout: CaptureLayout, camera: str, frames: FrameRange | None = None) -> list[int]:
    """The frame numbers of ``camera`` selected by ``frames`` (default: the layout's range) that exist on disk."""
    frames = frames or layout.frames
    source = _source(layout, camera)
    available = sorted(_image_files(source)) if source.is_dir() else list(range(_video_frame_count(source)))
    selected = set(frames.frames(available[-1] + 1 if available else 0))
    return [frame for frame in available if frame in selected]


def read_camera_frames(
    layout: CaptureLayout, camera: str, frame_numbers: list[int]
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame, image)`` for the given frame numbers (ascending), image (H, W, 3) uint8 RGB."""
    source = _source(layout, camera)
    if source.is_dir():
        files = _image_files(source)
        for frame in frame_numbers:
            if frame not in files:
                raise DetectionError(f"camera {camera}: no image for frame {frame} in {source}")
            image = cv2.imread(str(files[frame]), cv2.IMREAD_COLOR)
            if image is None:
                raise DetectionError(f"{files[frame]}: OpenCV cannot read this image")
            yield frame, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return
    video = cv2.VideoCapture(str(source))
    try:
        wanted, index = iter(sorted(frame_numbers)), 0
        for frame in wanted:
            while index < frame:  # skip unselected frames without decoding them to arrays
                if not video.grab():
                    raise DetectionError(f"{source}: the video ends before frame {frame}")
                index += 1
            ok, image = video.read()
            if not ok:
                raise DetectionError(f"{source}: the video ends before frame {frame}")
            index += 1
            yield frame, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    finally:
        video.release()
