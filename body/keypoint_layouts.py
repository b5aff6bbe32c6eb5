"""2D/3D keypoint layouts in one place: joint order, skeleton edges, and mappings between layouts.

Every layout is described by *canonical keypoint names* (the vocabulary below), so a detection in any layout
can be fitted by a body model that produces the canonical keypoints, and keypoints can be converted between
layouts (:func:`mapping_matrix`, :func:`convert_keypoints`).

Canonical names (``CANONICAL_KEYPOINTS``): the COCO-17 names, the COCO-WholeBody foot points
(``left_big_toe``, ``left_small_toe``, ``left_heel`` and right), and four more:

- ``neck``: midpoint of the shoulders (OpenPose BODY_25 / COCO-18 "Neck", Panoptic "neck"); *derived*.
- ``mid_hip``: midpoint of the hips (BODY_25 "MidHip", Panoptic "bodyCenter"); *derived*.
- ``upper_neck``: top of the neck, base of the skull (BODY_25B "UpperNeck", Shelf/Campus "bottom head").
- ``head_top``: top of the head (BODY_25B "HeadTop", Shelf/Campus "top head").

Derived keypoints (``DERIVED_KEYPOINTS``) are fixed linear combinations of other canonical keypoints; body
models and :func:`convert_keypoints` compute them, so a COCO-17 detection can fill BODY_25's neck and mid-hip.
Approximations: Panoptic's "neck" sits a little above the shoulder midpoint; Shelf/Campus "bottom head" is
mapped to ``upper_neck``.

Layouts (``LAYOUTS``; sources in each entry):

=============  ==  ======================================================================
name           K   order source
=============  ==  ======================================================================
coco17         17  COCO keypoints
body25         25  OpenPose BODY_25 (output/keypoints doc)
body25b        25  OpenPose experimental BODY_25B; order from Pose2Sim's skeletons.py
coco18         18  OpenPose COCO (BODY_18)
panoptic19     19  CMU Panoptic joints19
shelf14        14  Shelf / Campus evaluation joints (same layout for both)
=============  ==  ======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from body.errors import BodyModelError

CANONICAL_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
    "neck", "mid_hip", "upper_neck", "head_top",
)  # fmt: skip

DERIVED_KEYPOINTS: dict[str, dict[str, float]] = {
    "neck": {"left_shoulder": 0.5, "right_shoulder": 0.5},
    "mid_hip": {"left_hip": 0.5, "right_hip": 0.5},
}


@dataclass(frozen=True)
class KeypointLayout:
    """One keypoint layout.

    Attributes:
        name: layout id, e.g. ``"body25"``.
        labels: the layout's own joint labels, in its order (K).
        keypoints: the canonical name of each joint (K), same order.
        edges: skeleton edges as pairs of joint indices into this layout.
    """

    name: str
    labels: tuple[str, ...]
    keypoints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.keypoints):
            raise BodyModelError(f"layout {self.name}: {len(self.labels)} labels but {len(self.keypoints)} keypoints")
        unknown = set(self.keypoints) - set(CANONICAL_KEYPOINTS)
        if unknown:
            raise BodyModelError(f"layout {self.name}: unknown canonical keypoints {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.keypoints)

    def index(self, keypoint: str) -> int:
        """Index of a canonical keypoint name in this layout."""
        return self.keypoints.index(keypoint)


def _layout(name: str, joints: list[tuple[str, str]], edges: list[tuple[str, str]]) -> KeypointLayout:
    labels = tuple(label for label, _ in joints)
    return KeypointLayout(
        name=name,
        labels=labels,
        keypoints=tuple(canonical for _, canonical in joints),
        edges=tuple((labels.index(a), labels.index(b)) for a, b in edges),
    )


_COCO17_JOINTS = [(n, n) for n in CANONICAL_KEYPOINTS[:17]]
_COCO17_EDGES = [
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
]  # fmt: skip

_OPENPOSE_HEAD = [("Nose", "nose"), ("Neck", "neck")]
_OPENPOSE_ARMS = [
    ("RShoulder", "right_shoulder"), ("RElbow", "right_elbow"), ("RWrist", "right_wrist"),
    ("LShoulder", "left_shoulder"), ("LElbow", "left_elbow"), ("LWrist", "left_wrist"),
]  # fmt: skip
_OPENPOSE_LEGS = [
    ("RHip", "right_hip"), ("RKnee", "right_knee"), ("RAnkle", "right_ankle"),
    ("LHip", "left_hip"), ("LKnee", "left_knee"), ("LAnkle", "left_ankle"),
]  # fmt: skip
_OPENPOSE_FACE = [("REye", "right_eye"), ("LEye", "left_eye"), ("REar", "right_ear"), ("LEar", "left_ear")]
_OPENPOSE_FEET = [
    ("LBigToe", "left_big_toe"), ("LSmallToe", "left_small_toe"), ("LHeel", "left_heel"),
    ("RBigToe", "right_big_toe"), ("RSmallToe", "right_small_toe"), ("RHeel", "right_heel"),
]  # fmt: skip
_OPENPOSE_UPPER_EDGES = [
    ("Neck", "RShoulder"), ("Neck", "LShoulder"), ("RShoulder", "RElbow"), ("RElbow", "RWrist"),
    ("LShoulder", "LElbow"), ("LElbow", "LWrist"), ("Neck", "Nose"), ("Nose", "REye"), ("REye", "REar"),
    ("Nose", "LEye"), ("LEye", "LEar"), ("RHip", "RKnee"), ("RKnee", "RAnkle"), ("LHip", "LKnee"),
    ("LKnee", "LAnkle"),
]  # fmt: skip
_OPENPOSE_FOOT_EDGES = [
    ("LAnkle", "LBigToe"), ("LBigToe", "LSmallToe"), ("LAnkle", "LHeel"),
    ("RAnkle", "RBigToe"), ("RBigToe", "RSmallToe"), ("RAnkle", "RHeel"),
]  # fmt: skip

_BODY25_JOINTS = (
    _OPENPOSE_HEAD + _OPENPOSE_ARMS + [("MidHip", "mid_hip")] + _OPENPOSE_LEGS + _OPENPOSE_FACE + _OPENPOSE_FEET
)
_BODY25_EDGES = _OPENPOSE_UPPER_EDGES + _OPENPOSE_FOOT_EDGES + [("Neck", "MidHip"), ("MidHip", "RHip"), ("MidHip", "LHip")]

_COCO18_JOINTS = _OPENPOSE_HEAD + _OPENPOSE_ARMS + _OPENPOSE_LEGS + _OPENPOSE_FACE
_COCO18_EDGES = _OPENPOSE_UPPER_EDGES + [("Neck", "RHip"), ("Neck", "LHip")]

# BODY_25B: ids from Pose2Sim's skeletons.py (0 Nose ... 17 Neck (upper neck), 18 Head (head top), 19-24 feet).
_BODY25B_JOINTS = [
    ("Nose", "nose"), ("LEye", "left_eye"), ("REye", "right_eye"), ("LEar", "left_ear"), ("REar", "right_ear"),
    ("LShoulder", "left_shoulder"), ("RShoulder", "right_shoulder"), ("LElbow", "left_elbow"),
    ("RElbow", "right_elbow"), ("LWrist", "left_wrist"), ("RWrist", "right_wrist"), ("LHip", "left_hip"),
    ("RHip", "right_hip"), ("LKnee", "left_knee"), ("RKnee", "right_knee"), ("LAnkle", "left_ankle"),
    ("RAnkle", "right_ankle"), ("Neck", "upper_neck"), ("Head", "head_top"),
] + _OPENPOSE_FEET  # fmt: skip
_BODY25B_EDGES = [
    ("RHip", "RKnee"), ("RKnee", "RAnkle"), ("LHip", "LKnee"), ("LKnee", "LAnkle"), ("RHip", "LHip"),
    ("Neck", "Head"), ("Neck", "Nose"), ("Nose", "REye"), ("REye", "REar"), ("Nose", "LEye"), ("LEye", "LEar"),
    ("Neck", "RShoulder"), ("RShoulder", "RElbow"), ("RElbow", "RWrist"), ("Neck", "LShoulder"),
    ("LShoulder", "LElbow"), ("LElbow", "LWrist"), ("RShoulder", "RHip"), ("LShoulder", "LHip"),
] + _OPENPOSE_FOOT_EDGES  # fmt: skip

_PANOPTIC19_JOINTS = [
    ("neck", "neck"), ("nose", "nose"), ("bodyCenter", "mid_hip"), ("lShoulder", "left_shoulder"),
    ("lElbow", "left_elbow"), ("lWrist", "left_wrist"), ("lHip", "left_hip"), ("lKnee", "left_knee"),
    ("lAnkle", "left_ankle"), ("rShoulder", "right_shoulder"), ("rElbow", "right_elbow"),
    ("rWrist", "right_wrist"), ("rHip", "right_hip"), ("rKnee", "right_knee"), ("rAnkle", "right_ankle"),
    ("lEye", "left_eye"), ("lEar", "left_ear"), ("rEye", "right_eye"), ("rEar", "right_ear"),
]  # fmt: skip
_PANOPTIC19_EDGES = [
    ("neck", "nose"), ("neck", "bodyCenter"), ("neck", "lShoulder"), ("lShoulder", "lElbow"),
    ("lElbow", "lWrist"), ("bodyCenter", "lHip"), ("lHip", "lKnee"), ("lKnee", "lAnkle"), ("neck", "rShoulder"),
    ("rShoulder", "rElbow"), ("rElbow", "rWrist"), ("bodyCenter", "rHip"), ("rHip", "rKnee"),
    ("rKnee", "rAnkle"), ("nose", "lEye"), ("lEye", "lEar"), ("nose", "rEye"), ("rEye", "rEar"),
]  # fmt: skip

_SHELF14_JOINTS = [
    ("right_ankle", "right_ankle"), ("right_knee", "right_knee"), ("right_hip", "right_hip"),
    ("left_hip", "left_hip"), ("left_knee", "left_knee"), ("left_ankle", "left_ankle"),
    ("right_wrist", "right_wrist"), ("right_elbow", "right_elbow"), ("right_shoulder", "right_shoulder"),
    ("left_shoulder", "left_shoulder"), ("left_elbow", "left_elbow"), ("left_wrist", "left_wrist"),
    ("bottom_head", "upper_neck"), ("top_head", "head_top"),
]  # fmt: skip
_SHELF14_EDGES = [
    ("right_ankle", "right_knee"), ("right_knee", "right_hip"), ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"), ("right_hip", "left_hip"), ("right_wrist", "right_elbow"),
    ("right_elbow", "right_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "left_shoulder"), ("bottom_head", "top_head"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_hip"),
]  # fmt: skip

LAYOUTS: dict[str, KeypointLayout] = {
    layout.name: layout
    for layout in (
        _layout("coco17", _COCO17_JOINTS, _COCO17_EDGES),
        _layout("body25", _BODY25_JOINTS, _BODY25_EDGES),
        _layout("body25b", _BODY25B_JOINTS, _BODY25B_EDGES),
        _layout("coco18", _COCO18_JOINTS, _COCO18_EDGES),
        _layout("panoptic19", _PANOPTIC19_JOINTS, _PANOPTIC19_EDGES),
        _layout("shelf14", _SHELF14_JOINTS, _SHELF14_EDGES),
    )
}


def get_layout(layout: str | KeypointLayout) -> KeypointLayout:
    """The layout of that name (``"coco17"``, ``"body25"``, ...); a ``KeypointLayout`` is returned as is."""
    if isinstance(layout, KeypointLayout):
        return layout
    key = layout.lower().replace("_", "").replace("-", "")
    aliases = {"campus14": "shelf14", "openposecoco": "coco18", "coco": "coco17"}
    key = aliases.get(key, key)
    if key not in LAYOUTS:
        raise BodyModelError(f"unknown keypoint layout {layout!r}; expected one of {sorted(LAYOUTS)} or 'campus14'")
    return LAYOUTS[key]


def mapping_matrix(source: str | KeypointLayout, target: str | KeypointLayout) -> tuple[np.ndarray, np.ndarray]:
    """Linear map from ``source`` joints to ``target`` joints.

    Returns:
        M: (K_target, K_source) float64; ``target = M @ source`` for the available rows.
        available: (K_target,) bool; False where the source layout cannot produce that joint (row of zeros).

    A target joint is copied when the source has it, else built from ``DERIVED_KEYPOINTS`` when the source has
    all of its parts (e.g. BODY_25 "MidHip" from COCO-17 hips).
    """
    src, dst = get_layout(source), get_layout(target)
    matrix = np.zeros((len(dst), len(src)))
    available = np.zeros(len(dst), dtype=bool)
    for row, name in enumerate(dst.keypoints):
        if name in src.keypoints:
            matrix[row, src.index(name)] = 1.0
            available[row] = True
        elif name in DERIVED_KEYPOINTS and all(part in src.keypoints for part in DERIVED_KEYPOINTS[name]):
            for part, weight in DERIVED_KEYPOINTS[name].items():
                matrix[row, src.index(part)] = weight
            available[row] = True
    return matrix, available


def convert_keypoints(
    keypoints: np.ndarray, confidence: np.ndarray, source: str | KeypointLayout, target: str | KeypointLayout
) -> tuple[np.ndarray, np.ndarray]:
    """Convert keypoints between layouts.

    Args:
        keypoints: (..., K_source, D) positions (D = 2 or 3).
        confidence: (..., K_source) confidences; 0 marks a missing joint.
    Returns:
        (..., K_target, D) positions and (..., K_target) confidences. A joint the source cannot produce, or a
        derived joint with a missing part, gets confidence 0 and position 0; a derived joint gets the smallest
        confidence of its parts.
    """
    src = get_layout(source)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    if keypoints.shape[-2] != len(src) or confidence.shape != keypoints.shape[:-1]:
        raise BodyModelError(
            f"convert_keypoints: expected keypoints (..., {len(src)}, D) and confidence (..., {len(src)}) for "
            f"layout {src.name}, got {keypoints.shape} and {confidence.shape}"
        )
    matrix, available = mapping_matrix(src, target)
    out = np.einsum("ts,...sd->...td", matrix, keypoints)
    used = matrix > 0  # (K_target, K_source)
    masked = np.where(used, confidence[..., None, :], np.inf)  # (..., K_target, K_source)
    out_conf = np.where(available, masked.min(axis=-1), 0.0)
    out_conf = np.where(np.isfinite(out_conf), out_conf, 0.0)
    out = np.where(out_conf[..., None] > 0, out, 0.0)
    return out, out_conf
