"""Anipose / Pose2Sim `calibration.toml`: import.

One table per camera: `name`, `size` [width, height] (floats such as 1088.0 are accepted), `matrix` (3x3 K),
`distortions` (4 or 5 values [k1, k2, p1, p2(, k3)]), `rotation` (Rodrigues vector, world -> camera),
`translation` (metres), `fisheye` (true is refused: fisheye cameras are not supported yet). A `[metadata]`
table is ignored. Cameras keep the `name` field (the table name when it is missing), in file order; the world
is kept as it is.
"""

from __future__ import annotations

from pathlib import Path

from calibration.errors import RigError
from calibration.formats import fields
from calibration.rig import Rig

IGNORED_TABLES = ("metadata",)
_REQUIRED = ("size", "matrix", "distortions", "rotation", "translation")


def read_anipose(path: Path) -> Rig:
    """Cameras from an Anipose/Pose2Sim calibration TOML, in file order."""
    path = fields.require_file(path, "an Anipose/Pose2Sim calibration.toml")
    data = fields.load_toml(path)
    _check_layout(data, path)
    cameras = []
    for table, entry in data.items():
        if table in IGNORED_TABLES:
            continue
        if not isinstance(entry, dict):
            raise RigError(f"expected a [table] per camera, got a {type(entry).__name__}", file=path, field=table)
        cameras.append(_camera(table, entry, path))
    if not cameras:
        raise RigError("expected at least one camera table, found none", file=path)
    return Rig(tuple(cameras), source=path)


def _check_layout(data: dict, path: Path) -> None:
    """Refuse a file of another layout (a table of camera tables, as caliscope writes), naming what was seen."""
    for table, entry in data.items():
        if table in IGNORED_TABLES or not isinstance(entry, dict) or any(key in entry for key in _REQUIRED):
            continue
        nested = [key for key, value in entry.items() if isinstance(value, dict)]
        if nested:
            hint = " (caliscope camera_array.toml layout: use --format caliscope)" if table == "cameras" else ""
            raise RigError(
                f"expected one table per camera with size, matrix, distortions, rotation, translation; found a "
                f"table [{table}] holding tables {', '.join(f'[{table}.{key}]' for key in nested[:4])}{hint}",
                file=path,
                field=table,
            )


def _camera(table: str, entry: dict, path: Path):
    name = entry.get("name", table)
    if not isinstance(name, str) or not name:
        raise RigError(f"expected a non-empty string, got {name!r}", file=path, camera=table, field="name")
    fisheye = entry.get("fisheye", False)
    if not isinstance(fisheye, bool):
        raise RigError(f"expected true or false, got {fisheye!r}", file=path, camera=name, field="fisheye")
    if fisheye:
        raise RigError(
            "fisheye cameras are not supported yet (expected fisheye = false)", file=path, camera=name, field="fisheye"
        )
    for key in _REQUIRED:
        if key not in entry:
            raise RigError("missing required field", file=path, camera=name, field=key)
    return fields.toml_camera(path, name, entry, fields.rodrigues)
