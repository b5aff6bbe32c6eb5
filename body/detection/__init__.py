"""2D keypoint detection from images: a detector interface, the offline BlazePose backend (mediapipe wheel,
optional extra ``detect``), multi-person crop pass with OKS duplicate merging, OpenPose JSON output.

    from body.detection import create_detector
    with create_detector("blazepose", layout="body25") as detector:
        for people in detector.detect_frames(rgb_images, boxes=None):
            ...  # list[PersonKeypoints]: keypoints (K, 2) px, confidence (K,), bbox (4,), score

Importing this package does not import mediapipe; creating the BlazePose detector does.
"""

from body.detection.detector import KeypointDetector
from body.detection.errors import DetectionError, DetectorUnavailableError
from body.detection.multiperson import CropPassConfig, detect_people, keypoint_similarity, merge_duplicates
from body.detection.openpose_json import read_openpose_json, write_openpose_json
from body.detection.people import PersonKeypoints
from body.detection.registry import DETECTORS, create_detector

__all__ = [
    "DETECTORS",
    "CropPassConfig",
    "DetectionError",
    "DetectorUnavailableError",
    "KeypointDetector",
    "PersonKeypoints",
    "create_detector",
    "detect_people",
    "keypoint_similarity",
    "merge_duplicates",
    "read_openpose_json",
    "write_openpose_json",
]
