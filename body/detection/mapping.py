"""BlazePose's 33 landmarks -> the project's keypoint layouts (COCO-17, BODY_25, ...).

BlazePose (GHUM 3D topology) landmarks, in order: 0 nose, 1-3 left eye inner/centre/outer, 4-6 right eye
inner/centre/outer, 7 left ear, 8 right ear, 9-10 mouth left/right, 11-12 shoulders, 13-14 elbows,
15-16 wrists, 17-22 pinky/index/thumb of the left/right hand, 23-24 hips, 25-26 knees, 27-28 ankles,
29-30 heels, 31-32 foot index (tip of the foot). Left/right are the person's.

Correspondence with the canonical keypoints (``body.keypoint_layouts``): the 17 COCO joints and the heels
are the same points; the foot index is taken as the big toe (an approximation: it is the tip of the foot,
between the big and second toe); there is no small toe, upper neck or head top. BODY_25's neck and mid-hip
are the averages of the shoulders and of the hips, with the smaller confidence of the two
(``body.keypoint_layouts.DERIVED_KEYPOINTS``).
"""

from __future__ import annotations

import numpy as np

from body.detection.errors import DetectionError
from body.keypoint_layouts import CANONICAL_KEYPOINTS, KeypointLayout, convert_keypoints

BLAZEPOSE_LANDMARKS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip

# BlazePose landmark name -> canonical keypoint name, for the landmarks that have one.
_CANONICAL = {name: name for name in BLAZEPOSE_LANDMARKS if name in CANONICAL_KEYPOINTS}
_CANONICAL.update({"left_foot_index": "left_big_toe", "right_foot_index": "right_big_toe"})

BLAZEPOSE_INDICES = np.array([BLAZEPOSE_LANDMARKS.index(name) for name in _CANONICAL])
"""Indices of the mapped landmarks among the 33, in the order of :data:`BLAZEPOSE_LAYOUT`."""

BLAZEPOSE_LAYOUT = KeypointLayout(
    name="blazepose_mapped",
    labels=tuple(_CANONICAL),
    keypoints=tuple(_CANONICAL.values()),
    edges=(),
)
"""The 21 BlazePose landmarks that correspond to canonical keypoints, as a layout (not in ``LAYOUTS``)."""


def blazepose_to_layout(
    landmarks: np.ndarray, confidence: np.ndarray, layout: str | KeypointLayout
) -> tuple[np.ndarray, np.ndarray]:
    """Map BlazePose landmarks to a keypoint layout.

    Args:
        landmarks: (33, 2) pixel positions (or (33, D)).
        confidence: (33,) per-landmark confidence in [0, 1].
        layout: target layout (name or ``KeypointLayout``).
    Returns:
        (K, D) positions and (K,) confidences in the target layout; joints BlazePose has no counterpart for
        get confidence 0 and position 0.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[0] != len(BLAZEPOSE_LANDMARKS) or confidence.shape != landmarks.shape[:1]:
        raise DetectionError(
            f"blazepose_to_layout: expected landmarks (33, D) and confidence (33,), "
            f"got {landmarks.shape} and {confidence.shape}"
        )
    return convert_keypoints(landmarks[BLAZEPOSE_INDICES], confidence[BLAZEPOSE_INDICES], BLAZEPOSE_LAYOUT, layout)
