"""BlazePose backend: mediapipe's Tasks ``PoseLandmarker`` (full model) with several people per image, offline.

The model bundle is built from the installed wheel (:mod:`body.detection.blazepose_bundle`); the 33
landmarks are mapped to the requested layout (:mod:`body.detection.mapping`). Per-landmark confidence is
``visibility * presence`` (both probabilities from the model: visible and not occluded, inside the image);
landmarks outside the image get confidence 0. The Tasks API gives no per-person detection score, so the
score is the mean confidence of the mapped landmarks, and the box is the box of all 33 confident landmarks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from body.detection.blazepose_bundle import bundle_path, import_mediapipe
from body.detection.detector import KeypointDetector, check_image
from body.detection.errors import DetectionError
from body.detection.mapping import BLAZEPOSE_INDICES, blazepose_to_layout
from body.detection.native_log import filtered_native_stderr
from body.detection.people import PersonKeypoints, keypoint_box
from body.keypoint_layouts import get_layout


@dataclass(frozen=True)
class BlazePoseConfig:
    """Options of the BlazePose detector."""

    layout: Literal["body25", "coco17"] = "body25"
    """Keypoint layout of the output (any name in ``body.keypoint_layouts.LAYOUTS`` works; joints BlazePose
    has no counterpart for get confidence 0)."""
    max_people: int = 6
    """Most people returned per image (the Tasks API's ``num_poses``)."""
    min_detection_confidence: float = 0.5
    """Score threshold of the person detector."""
    min_presence_confidence: float = 0.5
    """Threshold of the landmark model's 'a person is in this region' score."""
    min_keypoint_confidence: float = 0.05
    """Joints with a lower ``visibility * presence`` are marked missing (confidence 0)."""

    def __post_init__(self) -> None:
        get_layout(self.layout)
        if self.max_people < 1:
            raise DetectionError(f"BlazePoseConfig.max_people: expected >= 1, got {self.max_people}")
        for name in ("min_detection_confidence", "min_presence_confidence", "min_keypoint_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise DetectionError(f"BlazePoseConfig.{name}: expected a value in [0, 1], got {getattr(self, name)}")


class BlazePoseDetector(KeypointDetector):
    """BlazePose GHUM 3D (full) through mediapipe's ``PoseLandmarker`` in image mode, CPU."""

    name: ClassVar[str] = "blazepose"

    def __init__(self, config: BlazePoseConfig = BlazePoseConfig(), cache_dir: str | Path | None = None) -> None:
        mediapipe = import_mediapipe()
        from mediapipe.tasks.python import BaseOptions, vision

        self.config = config
        self.layout = get_layout(config.layout)
        self._mediapipe = mediapipe
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(bundle_path(cache_dir))),
            running_mode=vision.RunningMode.IMAGE,
            num_poses=config.max_people,
            min_pose_detection_confidence=config.min_detection_confidence,
            min_pose_presence_confidence=config.min_presence_confidence,
        )
        with filtered_native_stderr():
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        self._started = False

    def detect_landmarks(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Raw BlazePose output for one (H, W, 3) uint8 RGB image.

        Returns:
            Per person, (33, 2) landmark pixels and (33,) confidences (``visibility * presence``, 0 outside
            the image or below ``min_keypoint_confidence``).
        """
        image = check_image(image)
        height, width = image.shape[:2]
        frame = self._mediapipe.Image(image_format=self._mediapipe.ImageFormat.SRGB, data=image)
        with warnings.catch_warnings():  # mediapipe 0.10.14 calls a deprecated protobuf API on every result
            warnings.filterwarnings("ignore", message=".*GetPrototype", category=UserWarning)
            if self._started:
                result = self._landmarker.detect(frame)
            else:  # the first inference logs its native start-up notices
                with filtered_native_stderr():
                    result = self._landmarker.detect(frame)
                self._started = True
        people = []
        for landmarks in result.pose_landmarks:
            values = np.array([[mark.x, mark.y, mark.visibility or 0.0, mark.presence or 0.0] for mark in landmarks])
            # normalised [0, 1] image coordinates with 0 at the image's left edge -> pixel centres at integers
            pixels = values[:, :2] * np.array([width, height]) - 0.5
            confidence = values[:, 2] * values[:, 3]
            inside = np.all((pixels >= -0.5) & (pixels <= np.array([width, height]) - 0.5), axis=1)
            confidence = np.where(inside & (confidence >= self.config.min_keypoint_confidence), confidence, 0.0)
            people.append((pixels, confidence))
        return people

    def detect(self, image: np.ndarray) -> list[PersonKeypoints]:
        """People in one (H, W, 3) uint8 RGB image, in :attr:`layout`."""
        people = []
        for pixels, confidence in self.detect_landmarks(image):
            keypoints, joint_confidence = blazepose_to_layout(pixels, confidence, self.layout)
            mapped = confidence[BLAZEPOSE_INDICES]
            if not mapped.any():
                continue
            box = keypoint_box(pixels, confidence)
            people.append(PersonKeypoints(keypoints, joint_confidence, self.layout.name, box, float(mapped.mean())))
        return people

    def close(self) -> None:
        self._landmarker.close()

