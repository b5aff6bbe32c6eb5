"""CMU Panoptic Studio `calibration_<seq>.json`: import.

The file holds `cameras`, a list of {"name": "00_00", "type": "hd" | "vga" | "kinect-color" | ...,
"resolution": [width, height], "K": 3x3, "distCoef": [k1, k2, p1, p2, k3], "R": 3x3 world -> camera,
"t": [[x], [y], [z]] in centimetres}. Only cameras of one type are imported (default "hd"); names are kept.
Translations are converted cm -> m. Panoptic's world (y pointing down, roughly) is kept as it is: no
re-orientation, so 3D results stay comparable with Panoptic's own ground truth.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from calibration.errors import RigError
from calibration.formats import fields
from calibration.rig import Rig

METRES_PER_CM = 0.01
_CAMERA_KEYS = ("name", "resolution", "K", "distCoef", "R", "t")


def read_panoptic(path: Path, camera_type: str = "hd") -> Rig:
    """Cameras of `camera_type` from a Panoptic calibration JSON, in file order; t in metres."""
    path = fields.require_file(path, "a CMU Panoptic calibration_<seq>.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RigError(f"expected a JSON file, could not parse it: {error}", file=path) from None
    entries = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise RigError("expected a non-empty list of cameras", file=path, field="cameras")
    types: Counter[str] = Counter()
    cameras = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise RigError(f"expected a mapping, got {type(entry).__name__}", file=path, field=f"cameras[{index}]")
        types[str(entry.get("type"))] += 1
        if entry.get("type") == camera_type:
            cameras.append(_camera(entry, index, path))
    if not cameras:
        available = ", ".join(f"'{name}' ({count} cameras)" for name, count in sorted(types.items()))
        raise RigError(
            f"expected cameras of type '{camera_type}' (camera_type, CLI --camera-type), found none; "
            f"the file has: {available}",
            file=path,
            field="cameras[].type",
        )
    return Rig(tuple(cameras), source=path)


def _camera(entry: dict, index: int, path: Path):
    name = entry.get("name")
    label = name if isinstance(name, str) and name else f"cameras[{index}]"
    for key in _CAMERA_KEYS:
        if key not in entry:
            raise RigError("missing required field", file=path, camera=label, field=key)
    if not isinstance(name, str) or not name:
        raise RigError(f"expected a non-empty string, got {name!r}", file=path, camera=label, field="name")
    resolution = entry["resolution"]
    if not isinstance(resolution, list) or len(resolution) != 2:
        raise RigError(f"expected [width, height], got {resolution!r}", file=path, camera=name, field="resolution")
    t_cm = fields.as_array(entry["t"], (3,), file=path, camera=name, field="t")
    return fields.make_camera(
        path,
        name=name,
        width=fields.image_dimension(resolution[0], file=path, camera=name, field="resolution[0] (width)"),
        height=fields.image_dimension(resolution[1], file=path, camera=name, field="resolution[1] (height)"),
        K=fields.as_array(entry["K"], (3, 3), file=path, camera=name, field="K"),
        dist=fields.distortion(entry["distCoef"], file=path, camera=name, field="distCoef"),
        R=fields.rotation(entry["R"], file=path, camera=name, field="R"),
        t=t_cm * METRES_PER_CM,
    )
