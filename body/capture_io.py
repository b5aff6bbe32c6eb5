"""The body stage's output files: ``RUN/body/<frame:06d>.json``, one per frame (format in docs/body-output.md).

Written atomically (:mod:`calibration.atomic`); `calibration.run_layout.RunLayout.body_frames` lists the frames already written (a rerun skips them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from body.errors import BodyModelError
from body.keypoint_layouts import get_layout
from body.params import BodyParams, params_from_dict, params_to_dict
from calibration.atomic import atomic_write_text
from calibration.run_layout import RunLayout

BODY_FRAME_FORMAT = "multicap.body_frame"
BODY_FRAME_VERSION = 1


@dataclass
class BodyPerson:
    """One person in one frame of the body stage's output.

    Attributes:
        id: track id (stable over the sequence).
        layout: keypoint layout name; ``names`` its canonical keypoint names (K).
        keypoints: (K, 3) world keypoints, metres; ``confidence`` (K,): > 0 where triangulated in this frame,
            0 where the position comes from the fitted body (missed joint, interpolated frame, see the docs).
        params: the fitted body's parameters (batch ()), or None if no body was fitted. ``model``: its model name.
        pose_joint_names, shape_names: the parameter names of ``model``.
        interpolated: True if the person was not detected in this frame (pose interpolated by the fit).
        num_views: views the person was associated in; reprojection_px: median reprojection error, pixels.
    """

    id: int
    layout: str
    keypoints: np.ndarray
    confidence: np.ndarray
    params: BodyParams | None = None
    model: str | None = None
    pose_joint_names: list[str] = field(default_factory=list)
    shape_names: list[str] = field(default_factory=list)
    interpolated: bool = False
    num_views: int = 0
    reprojection_px: float = 0.0

    def to_dict(self) -> dict:
        xyz_conf = np.concatenate([self.keypoints, self.confidence[:, None]], axis=1)
        entry: dict = {
            "id": int(self.id),
            "keypoints3d": {
                "layout": self.layout,
                "names": list(get_layout(self.layout).keypoints),
                "xyz_conf": [[round(float(v), 5) for v in row] for row in xyz_conf],
            },
            "interpolated": bool(self.interpolated),
            "num_views": int(self.num_views),
            "reprojection_px": round(float(self.reprojection_px), 3),
        }
        if self.params is not None:
            entry["body"] = {
                "model": self.model,
                "params": params_to_dict(self.params, self.model, self.pose_joint_names, self.shape_names),
            }
        return entry


def write_body_frame(run_dir: str | Path, frame: int, people: list[BodyPerson], problems: list[str] = ()) -> Path:
    """Write one frame's people (and the input problems met in it), atomically; returns the path."""
    document = {
        "format": BODY_FRAME_FORMAT,
        "version": BODY_FRAME_VERSION,
        "frame": int(frame),
        "units": "metres, world coordinates of the rig",
        "people": [person.to_dict() for person in people],
        "problems": list(problems),
    }
    path = RunLayout(run_dir).body_file(frame)
    atomic_write_text(path, json.dumps(document, indent=1))
    return path


def read_body_frame(path: str | Path) -> tuple[int, list[BodyPerson]]:
    """Read a file written by :func:`write_body_frame` -> (frame, people)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise BodyModelError(f"{path}: cannot read the body frame JSON ({error})") from error
    if not isinstance(document, dict) or document.get("format") != BODY_FRAME_FORMAT:
        raise BodyModelError(f"{path}: field 'format': expected {BODY_FRAME_FORMAT!r}")
    people = []
    for index, entry in enumerate(document.get("people", [])):
        where = f"{path}: people[{index}]"
        try:
            keypoints3d = entry["keypoints3d"]
            values = np.asarray(keypoints3d["xyz_conf"], dtype=np.float64).reshape(-1, 4)
            person = BodyPerson(
                id=int(entry["id"]), layout=keypoints3d["layout"], keypoints=values[:, :3], confidence=values[:, 3],
                interpolated=bool(entry.get("interpolated", False)), num_views=int(entry.get("num_views", 0)),
                reprojection_px=float(entry.get("reprojection_px", 0.0)),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as error:
            raise BodyModelError(f"{where}: missing or malformed field ({error!r})") from error
        if "body" in entry:
            params, meta = params_from_dict(entry["body"]["params"], source=f"{where}.body.params")
            person.params, person.model = params, meta["model"]
            person.pose_joint_names, person.shape_names = list(meta["pose_joint_names"]), list(meta["shape_names"])
        people.append(person)
    return int(document["frame"]), people


