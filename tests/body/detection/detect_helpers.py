"""Helpers of the 2D keypoint detection tests: the real Pose2Sim frames and OpenPose detections, skip marks,
a fake detector for the multi-person logic (a unique module name, imported by the tests directly)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from body.detection.detector import KeypointDetector
from body.detection.people import PersonKeypoints

POSE2SIM = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pose2sim_demo"
HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
needs_mediapipe = pytest.mark.skipif(
    not HAS_MEDIAPIPE, reason="mediapipe 0.10.14 not installed (optional extra: pip install '.[detect]')"
)
needs_pose2sim = pytest.mark.skipif(
    not POSE2SIM.is_dir(), reason=f"real data not found at {POSE2SIM} (../shared beside the repo)"
)


def decode_frames(camera: str, frames: list[int]) -> dict[int, np.ndarray]:
    """Frames (ascending) of a Pose2Sim video as (H, W, 3) uint8 RGB."""
    video = cv2.VideoCapture(str(POSE2SIM / "videos" / f"{camera}.mp4"))
    images, index = {}, 0
    for frame in frames:
        while index < frame:
            video.grab()
            index += 1
        ok, image = video.read()
        index += 1
        assert ok, f"{camera} frame {frame} did not decode"
        images[frame] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    video.release()
    return images


def openpose_people(camera: str, frame: int) -> list[np.ndarray]:
    """The Pose2Sim OpenPose BODY_25B detections of a frame: per person (25, 3) [x, y, c]."""
    path = POSE2SIM / "pose_openpose_json_BODY25B" / f"{camera}_json" / f"{camera}.{frame:04d}.json"
    document = json.loads(path.read_text())
    return [np.asarray(p["pose_keypoints_2d"], dtype=np.float64).reshape(25, 3) for p in document["people"]]


def bright_blobs(image: np.ndarray, min_fraction: float) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) boxes of the connected bright (red > 200) regions at least `min_fraction` of the image tall."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((image[..., 0] > 200).astype(np.uint8))
    return [(x, y, w, h) for x, y, w, h, _ in stats[1:count] if h >= min_fraction * image.shape[0]]


class BlobDetector(KeypointDetector):
    """A fake detector: every white axis-aligned rectangle at least `min_fraction` of the image's height tall
    is a person whose COCO-17 joints lie on a fixed pattern inside the rectangle (so the result is known)."""

    name = "blobs"

    def __init__(self, min_fraction: float = 0.3) -> None:
        from body.keypoint_layouts import get_layout

        self.layout = get_layout("coco17")
        self.min_fraction = min_fraction
        rng = np.random.default_rng(0)
        self.pattern = rng.uniform(0.05, 0.95, size=(17, 2))  # joint positions relative to the box
        self.calls: list[tuple[int, int]] = []

    def detect(self, image: np.ndarray) -> list[PersonKeypoints]:
        self.calls.append(image.shape[:2])
        people = []
        for x, y, w, h in bright_blobs(image, self.min_fraction):
            keypoints = np.array([x, y]) + self.pattern * np.array([w - 1, h - 1])
            box = np.array([x, y, x + w - 1, y + h - 1])
            people.append(PersonKeypoints(keypoints, np.full(17, 0.9), "coco17", box))
        return people


def blob_image(boxes: list[tuple[int, int, int, int]], size: tuple[int, int] = (400, 300)) -> np.ndarray:
    """(H, W, 3) uint8 RGB black image of `size` (width, height) with white rectangles [x0, y0, x1, y1] inclusive."""
    image = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    for x0, y0, x1, y1 in boxes:
        image[y0 : y1 + 1, x0 : x1 + 1] = 255
    return image


def random_person(offset: float = 0.0) -> PersonKeypoints:
    """A COCO-17 person with random joints (shifted by `offset` px), joint 4 (right ear) missing."""
    rng = np.random.default_rng(int(offset))
    keypoints = rng.uniform(10, 200, size=(17, 2)) + offset
    confidence = rng.uniform(0.3, 1.0, size=17)
    confidence[4] = 0.0
    return PersonKeypoints(keypoints, confidence, "coco17")


PILLAR_HEIGHTS = {"nose": 1.65, "neck": 1.5, "shoulder": 1.45, "elbow": 1.15, "wrist": 0.9, "hip": 0.95,
                  "knee": 0.5, "ankle": 0.08, "eye": 1.68, "ear": 1.64, "toe": 0.0, "heel": 0.03}  # fmt: skip
"""Height above the floor (metres) of each BODY_25 joint of a pillar person, by a part of the joint's name."""


class PillarDetector(KeypointDetector):
    """A fake detector for rig-guided detection: every white blob at least `min_fraction` of the image's height
    tall is a person drawn by `pillar_image` (a 1.8 m pillar); its BODY_25 joints lie on the blob's vertical centre
    line at PILLAR_HEIGHTS, so views of the same pillar triangulate to one person."""

    name = "pillars"

    def __init__(self, min_fraction: float = 0.46) -> None:
        from body.keypoint_layouts import get_layout

        self.layout = get_layout("body25")
        self.min_fraction = min_fraction
        heights = [next(h for part, h in PILLAR_HEIGHTS.items() if part in name) for name in self.layout.keypoints]
        self.relative = (1.8 - np.array(heights)) / 1.8  # 0 at the top of the blob, 1 at its bottom
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[PersonKeypoints]:
        self.calls += 1
        people = []
        for x, y, w, h in bright_blobs(image, self.min_fraction):
            keypoints = np.stack([np.full(len(self.relative), x + (w - 1) / 2), y + self.relative * (h - 1)], -1)
            box = np.array([x, y, x + w - 1, y + h - 1])
            people.append(PersonKeypoints(keypoints, np.full(len(self.relative), 0.9), "body25", box))
        return people


def pillar_image(camera, positions: list[tuple[float, float]], width: float = 0.2) -> np.ndarray:
    """(H, W, 3) uint8 RGB view of `camera` (calibration.Camera): black, each person a white box around the
    projection of a `width` x `width` x 1.8 m pillar standing at floor position (x, y), metres (z up)."""
    image = np.zeros((camera.height, camera.width, 3), dtype=np.uint8)
    half = width / 2
    for x, y in positions:
        corners = np.array([[x + dx, y + dy, z] for dx in (-half, half) for dy in (-half, half) for z in (0.0, 1.8)])
        pixels = camera.project(corners)
        (x0, y0), (x1, y1) = np.floor(pixels.min(0)).astype(int), np.ceil(pixels.max(0)).astype(int)
        image[max(y0, 0) : max(y1 + 1, 0), max(x0, 0) : max(x1 + 1, 0)] = 255
    return image
