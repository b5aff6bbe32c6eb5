"""The 2D keypoint detector interface: images of one view over time -> per frame, a list of people.

A backend implements :meth:`KeypointDetector.detect` for one RGB image; the interface adds the sequence and
the multi-person crop pass (:func:`body.detection.multiperson.detect_people`) on top, so every backend gets
them. Backends are created by name with :func:`body.detection.create_detector`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from typing import ClassVar

import numpy as np

from body.detection.errors import DetectionError
from body.detection.multiperson import CropPassConfig, detect_people
from body.detection.people import PersonKeypoints
from body.keypoint_layouts import KeypointLayout


def check_image(image: np.ndarray, argument: str = "image") -> np.ndarray:
    """Validate an (H, W, 3) uint8 RGB image and return it C-contiguous."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
        raise DetectionError(f"{argument}: expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)


class KeypointDetector(abc.ABC):
    """Detects people and their 2D keypoints in RGB images.

    Convention: images are (H, W, 3) uint8 **RGB** (convert OpenCV's BGR with ``cv2.cvtColor``); keypoints
    are pixels of that image (see :mod:`body.detection.people`), in the layout :attr:`layout`.

    Subclasses set :attr:`name` and :attr:`layout` and implement :meth:`detect`; they may hold native
    resources, released by :meth:`close` (the detector is a context manager).
    """

    name: ClassVar[str]
    """Backend id used by ``create_detector`` and written into output files."""
    layout: KeypointLayout
    """Layout of the returned keypoints."""

    @abc.abstractmethod
    def detect(self, image: np.ndarray) -> list[PersonKeypoints]:
        """People in one (H, W, 3) uint8 RGB image (any order)."""

    def detect_frames(
        self,
        images: Iterable[np.ndarray],
        boxes: Iterable[np.ndarray | None] | None = None,
        config: CropPassConfig = CropPassConfig(),
    ) -> Iterator[list[PersonKeypoints]]:
        """Detect people in the images of one view over time.

        Args:
            images: (H, W, 3) uint8 RGB images, one per frame.
            boxes: per frame, (M, 4) ``[x0, y0, x1, y1]`` boxes where people are expected (e.g. people other
                views triangulated, reprojected), or None; each box gets a second pass on its crop.
        Yields:
            Per frame, the people sorted by decreasing score, duplicates merged.
        """
        frame_boxes = iter(boxes) if boxes is not None else None
        for index, image in enumerate(images):
            box = next(frame_boxes, None) if frame_boxes is not None else None
            yield detect_people(self, check_image(image, f"images[{index}]"), box, config)

    def close(self) -> None:
        """Release native resources (no-op by default)."""

    def __enter__(self) -> KeypointDetector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
