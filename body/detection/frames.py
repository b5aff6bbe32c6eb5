"""The images of one camera of a capture (``rig.yaml``'s capture layout), frame by frame, as RGB arrays.

Layouts (docs/rig-format.md): ``images/<camera folder>/<frame:06d>.jpg`` (or .jpeg/.png: any file whose stem
is the frame number) or ``videos/<camera folder>.mp4`` (frame = index of the decoded frame, from 0).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from body.detection.errors import DetectionError
from calibration.rig import CaptureLayout, FrameRange

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
CODEC_CROP_PX = 16
"""Decoded frames may be up to one 16-pixel macroblock narrower or shorter than the calibrated size: video codecs
crop the right/bottom edge (e.g. 1088 -> 1080) and pixel coordinates stay as they are."""

logger = logging.getLogger(__name__)


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


_JPEG_START, _JPEG_END = b"\xff\xd8", b"\xff\xd9"


def truncation(path: str | Path) -> str | None:
    """Why the JPEG file at `path` is cut short (no end-of-image marker: a partial copy or download), or None when
    it is complete or not a JPEG. OpenCV decodes such a file with only libjpeg's anonymous warning ("Premature end
    of JPEG file") and grey rows at the bottom; a cut PNG, by contrast, fails to decode."""
    with open(path, "rb") as file:
        head = file.read(2)
        file.seek(0, 2)
        file.seek(max(file.tell() - 4096, 0))
        tail = file.read()
    if head == _JPEG_START and not tail.rstrip(b"\x00\xff\r\n ").endswith(_JPEG_END):
        return "the JPEG file is truncated (it does not end with the end-of-image marker FFD9); copy or export it again"
    return None


def read_image(path: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """The image file at `path` as OpenCV decodes it with `flags` (IMREAD_COLOR: (H, W, 3) uint8 BGR); raises
    DetectionError naming the file when it is a truncated JPEG (:func:`truncation`) or OpenCV cannot read it."""
    problem = truncation(path)
    image = cv2.imread(str(path), flags) if problem is None else None
    if image is None:
        raise DetectionError(f"{path}: {problem or 'OpenCV cannot read this image'}")
    return image


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
            yield frame, cv2.cvtColor(read_image(files[frame]), cv2.COLOR_BGR2RGB)
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


def conform_to_camera(image: np.ndarray, camera, frame: int, source: object = "the rig") -> np.ndarray:
    """``image`` (h, w, C) at ``camera``'s calibrated size (height, width, C), the one rule every stage applies.

    The calibrated size is returned as is. An image up to CODEC_CROP_PX smaller in width and/or height (codec
    cropping) is padded at the right/bottom edge by repeating its last column/row, so pixel coordinates and the
    intrinsics stay valid; the first time per camera and size this is logged. Any other size raises DetectionError
    naming the camera, the frame, both sizes and ``source`` (the rig file).
    """
    height, width = image.shape[:2]
    short_x, short_y = camera.width - width, camera.height - height
    if (short_x, short_y) == (0, 0):
        return image
    if not (0 <= short_x <= CODEC_CROP_PX and 0 <= short_y <= CODEC_CROP_PX):
        raise DetectionError(
            f"camera {camera.name} frame {frame}: images are {width}x{height} but the rig says "
            f"{camera.width}x{camera.height} ({source}); rescale the calibration (K) or the images so they match"
        )
    _log_codec_crop(camera.name, width, height, camera.width, camera.height)
    return cv2.copyMakeBorder(image, 0, short_y, 0, short_x, cv2.BORDER_REPLICATE)


@functools.lru_cache(maxsize=None)
def _log_codec_crop(camera: str, width: int, height: int, calibrated_width: int, calibrated_height: int) -> None:
    logger.warning(
        "camera %s: images decode at %dx%d but the calibration says %dx%d; padding the right/bottom edge (codec "
        "cropping, pixel coordinates unchanged)", camera, width, height, calibrated_width, calibrated_height,
    )  # fmt: skip


def read_camera_image(layout: CaptureLayout, camera, frame: int, source: object = "the rig") -> np.ndarray:
    """One frame of ``camera`` (a calibration.Camera) as (height, width, 3) uint8 RGB at its calibrated size
    (``conform_to_camera``). Raises DetectionError when the frame is missing or its size does not fit."""
    ((_, image),) = read_camera_frames(layout, camera.name, [frame])
    return conform_to_camera(image, camera, frame, source)
