"""Caliscope `camera_array.toml` (and the `[cam_N]` tables of older caliscope `config.toml`): import.

Layout: a `[cameras]` table holding one table per camera (`[cameras.0]`, `[cameras.1]`, ...), or top-level
`[cam_0]`, `[cam_1]`, ... tables (older files). Per camera: `size` [width, height], `matrix` (3x3 K),
`distortions` (4 or 5 values [k1, k2, p1, p2(, k3)]), `rotation` (3x3 matrix or Rodrigues vector, world ->
camera), `translation` (metres); `fisheye = true` is refused; `ignore = true` cameras and cameras without
`rotation`/`translation` (not yet solved) are refused with the fields named. Other fields (`rotation_count`,
`exposure`, `error`, ...) are ignored: caliscope's pixel coordinates are those of the unrotated frames.
Cameras are named `cam_<id>` (the table key), in id order; the world is kept as it is.
"""

from __future__ import annotations

from pathlib import Path

from calibration.errors import RigError
from calibration.formats import fields
from calibration.rig import Rig

_REQUIRED = ("size", "matrix", "distortions", "rotation", "translation")


def read_caliscope(path: Path) -> Rig:
    """Cameras from a caliscope camera_array.toml (or config.toml), ordered by camera id."""
    path = fields.require_file(path, "a caliscope camera_array.toml")
    data = fields.load_toml(path)
    if isinstance(data.get("cameras"), dict):
        tables = {f"cam_{key}": entry for key, entry in data["cameras"].items()}
    else:
        tables = {key: entry for key, entry in data.items() if key.startswith("cam_")}
    if not tables:
        raise RigError(
            f"expected a [cameras] table ([cameras.0], [cameras.1], ...) or [cam_0], [cam_1], ... tables, "
            f"found top-level keys: {', '.join(data) or 'none'}",
            file=path,
        )
    cameras = [_camera(name, entry, path) for name, entry in sorted(tables.items(), key=lambda item: _order(item[0]))]
    return Rig(tuple(cameras), source=path)


def _order(name: str) -> tuple[int, str]:
    suffix = name.removeprefix("cam_")
    return (int(suffix), name) if suffix.isdigit() else (1 << 30, name)


def _camera(name: str, entry: object, path: Path):
    if not isinstance(entry, dict):
        raise RigError(f"expected a table per camera, got a {type(entry).__name__}", file=path, camera=name)
    if entry.get("fisheye", False) is not False:
        raise RigError("fisheye cameras are not supported yet (expected fisheye = false)", file=path, camera=name,
                       field="fisheye")  # fmt: skip
    if entry.get("ignore", False) is True:
        raise RigError("the camera is marked ignore = true in caliscope (not calibrated); remove it from the file",
                       file=path, camera=name, field="ignore")  # fmt: skip
    for key in _REQUIRED:
        if key not in entry:
            raise RigError("missing required field (is the camera calibrated in caliscope?)", file=path, camera=name,
                           field=key)  # fmt: skip
    rotation = entry["rotation"]
    vector = isinstance(rotation, list) and len(rotation) == 3 and not any(isinstance(row, list) for row in rotation)
    return fields.toml_camera(path, name, entry, fields.rodrigues if vector else fields.rotation)
