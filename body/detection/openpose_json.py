"""People <-> OpenPose JSON files (the format ``capture body`` and tools such as Pose2Sim read).

File format (OpenPose ``--write_json``, version 1.3)::

    {"version": 1.3,
     "people": [{"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...],
                 "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
                 "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                 "hand_right_keypoints_3d": [],
                 "bbox": [x0, y0, x1, y1], "score": s}],
     "layout": "body25", "detector": "blazepose"}

``pose_keypoints_2d`` is K joints x [x, y, confidence] in pixels, a missing joint written 0, 0, 0. The keys
``bbox`` and ``score`` per person and ``layout`` and ``detector`` at the top are this project's additions;
OpenPose readers ignore them, and :func:`read_openpose_json` works without them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from body.detection.errors import DetectionError
from body.detection.people import PersonKeypoints
from body.keypoint_layouts import get_layout
from calibration.atomic import atomic_write_text

OPENPOSE_JSON_VERSION = 1.3
_EMPTY_FIELDS = (
    "face_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d",
    "pose_keypoints_3d", "face_keypoints_3d", "hand_left_keypoints_3d", "hand_right_keypoints_3d",
)  # fmt: skip


def people_to_openpose(people: list[PersonKeypoints], detector: str | None = None, layout: str | None = None) -> dict:
    """The OpenPose JSON document (a dict) for one image's people; all must share one layout (``layout`` when
    given, which also names the layout of a file without people)."""
    layouts = {person.layout for person in people} | ({get_layout(layout).name} if layout else set())
    if len(layouts) > 1:
        raise DetectionError(f"people_to_openpose: expected one layout for all people, got {sorted(layouts)}")
    entries = []
    for person in people:
        values = np.concatenate([person.keypoints, person.confidence[:, None]], axis=1)
        values[person.confidence <= 0] = 0.0
        entry: dict = {"person_id": [-1], "pose_keypoints_2d": [round(float(v), 3) for v in values.ravel()]}
        entry.update({key: [] for key in _EMPTY_FIELDS})
        entry["bbox"] = [round(float(v), 2) for v in person.bbox]
        entry["score"] = round(person.score, 4)
        entries.append(entry)
    document: dict = {"version": OPENPOSE_JSON_VERSION, "people": entries}
    if layouts:
        document["layout"] = layouts.pop()
    if detector is not None:
        document["detector"] = detector
    return document


def write_openpose_json(
    path: str | Path, people: list[PersonKeypoints], detector: str | None = None, layout: str | None = None
) -> Path:
    """Write one image's people to ``path`` as OpenPose JSON, atomically (see :func:`people_to_openpose`); returns
    ``path``."""
    atomic_write_text(path, json.dumps(people_to_openpose(people, detector, layout), separators=(",", ":")))
    return Path(path)


def read_openpose_json(path: str | Path, layout: str | None = None) -> list[PersonKeypoints]:
    """People from an OpenPose JSON file.

    Args:
        layout: the file's keypoint layout; default: the file's ``layout`` key (written by this project),
            else an error (OpenPose files do not say which model wrote them: pass ``"body25"``,
            ``"body25b"``, ``"coco18"``, ...).
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DetectionError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(document, dict) or not isinstance(document.get("people"), list):
        raise DetectionError(f"{path}: expected an OpenPose JSON object with a 'people' list")
    layout = layout or document.get("layout")
    if layout is None:
        raise DetectionError(f"{path}: the file names no 'layout'; pass the layout (e.g. 'body25', 'body25b')")
    joints = len(get_layout(layout))
    people = []
    for index, entry in enumerate(document["people"]):
        values = np.asarray(entry.get("pose_keypoints_2d", []), dtype=np.float64)
        if values.shape != (3 * joints,):
            raise DetectionError(
                f"{path}: people[{index}].pose_keypoints_2d: expected {3 * joints} numbers for layout "
                f"{layout!r} ({joints} joints x [x, y, c]), got {values.size}"
            )
        values = values.reshape(joints, 3)
        confidence = np.clip(values[:, 2], 0.0, 1.0)
        if not confidence.any():
            continue
        people.append(
            PersonKeypoints(values[:, :2], confidence, layout, entry.get("bbox"), entry.get("score"))
        )
    return people
