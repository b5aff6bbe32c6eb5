"""Read and write `rig.yaml`, the project's rig file (schema: docs/rig-format.md).

Every problem raises RigError naming the file, the camera and the field, and saying what was expected.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from calibration.atomic import atomic_write_text
from calibration.camera import Camera
from calibration.errors import RigError
from calibration.plausibility import check_scale
from calibration.rig import CaptureLayout, FrameRange, Rig

logger = logging.getLogger(__name__)
RIG_FORMAT_VERSION = 1
UNIT_TO_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001}
KEYPOINT_FORMATS = ("openpose", "easymocap", "synthetic")

TOP_KEYS = ("version", "units", "capture", "cameras")
CAPTURE_KEYS = ("images", "videos", "masks", "keypoints", "keypoint_format", "frames", "fps")
CAMERA_KEYS = ("name", "folder", "width", "height", "K", "dist", "R", "rvec", "t")
CAMERA_REQUIRED = ("name", "width", "height", "K", "t")


def _check_keys(mapping: dict, allowed: tuple[str, ...], *, file: Path, camera: str | None, where: str) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise RigError(
                f"unknown key '{key}' in {where}{hint} (allowed: {', '.join(allowed)})",
                file=file,
                camera=camera,
                field=str(key),
            )


def _require_mapping(value: Any, *, file: Path, field: str, camera: str | None = None) -> dict:
    if not isinstance(value, dict):
        raise RigError(f"expected a mapping, got {type(value).__name__}", file=file, camera=camera, field=field)
    return value


def _number(value: Any, *, file: Path, camera: str | None, field: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RigError(f"expected a finite number, got {value!r}", file=file, camera=camera, field=field)
    if positive and value <= 0:
        raise RigError(f"expected a positive number, got {value!r}", file=file, camera=camera, field=field)
    return float(value)


def _integer(value: Any, *, file: Path, field: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RigError(f"expected an integer, got {value!r}", file=file, field=field)
    if minimum is not None and value < minimum:
        raise RigError(f"expected an integer >= {minimum}, got {value}", file=file, field=field)
    return value


def _parse_frames(value: Any, file: Path) -> FrameRange:
    field = "capture.frames"
    if isinstance(value, dict):
        _check_keys(value, ("start", "stop", "step"), file=file, camera=None, where=field)
        start, stop, step = value.get("start", 0), value.get("stop"), value.get("step", 1)
    elif isinstance(value, list) and len(value) in (2, 3):
        start, stop, step = (list(value) + [1])[:3]
    else:
        raise RigError(
            f"expected [start, stop] or [start, stop, step] or a mapping with start/stop/step, got {value!r}",
            file=file,
            field=field,
        )
    start = _integer(start, file=file, field=f"{field}.start", minimum=0)
    step = _integer(step, file=file, field=f"{field}.step", minimum=1)
    if stop is not None:
        stop = _integer(stop, file=file, field=f"{field}.stop", minimum=start + 1)
    return FrameRange(start, stop, step)


def _parse_capture(section: Any, file: Path, folders: dict[str, str], check_paths: bool) -> CaptureLayout:
    section = _require_mapping(section, file=file, field="capture")
    _check_keys(section, CAPTURE_KEYS, file=file, camera=None, where="capture")
    base = file.parent
    paths: dict[str, Path | None] = {}
    for key in ("images", "videos", "masks", "keypoints"):
        value = section.get(key)
        if value is None:
            paths[key] = None
            continue
        if not isinstance(value, str) or not value:
            raise RigError(f"expected a folder path (string), got {value!r}", file=file, field=f"capture.{key}")
        folder = (base / value).resolve()
        if check_paths and not folder.is_dir():
            raise RigError(f"expected an existing folder, but {folder} does not exist", file=file, field=f"capture.{key}")
        paths[key] = folder
    if paths["images"] is not None and paths["videos"] is not None:
        raise RigError("expected either 'images' or 'videos', got both", file=file, field="capture")
    keypoint_format = section.get("keypoint_format")
    if keypoint_format is not None and keypoint_format not in KEYPOINT_FORMATS:
        raise RigError(
            f"expected one of {', '.join(KEYPOINT_FORMATS)}, got {keypoint_format!r}",
            file=file,
            field="capture.keypoint_format",
        )
    fps = section.get("fps")
    if fps is not None:
        fps = _number(fps, file=file, camera=None, field="capture.fps", positive=True)
    frames = _parse_frames(section["frames"], file) if section.get("frames") is not None else FrameRange()
    layout = CaptureLayout(
        images=paths["images"],
        videos=paths["videos"],
        masks=paths["masks"],
        keypoints=paths["keypoints"],
        keypoint_format=keypoint_format,
        frames=frames,
        fps=fps,
        camera_folders={name: folder for name, folder in folders.items() if folder != name},
    )
    if check_paths:
        _check_camera_folders(layout, list(folders), file)
    return layout


def _check_camera_folders(layout: CaptureLayout, names: list[str], file: Path) -> None:
    for name in names:
        for key, path in (
            ("images", layout.image_dir(name)),
            ("videos", layout.video_file(name)),
            ("masks", layout.mask_dir(name)),
            ("keypoints", layout.keypoint_dir(name)),
        ):
            if path is None or path.exists():
                continue
            kind = "video file" if key == "videos" else "folder"
            raise RigError(
                f"expected the camera's {kind} {path} (set 'folder' on the camera if its data has another name)",
                file=file,
                camera=name,
                field=f"capture.{key}",
            )


def _parse_camera(entry: Any, index: int, file: Path, metres_per_unit: float) -> Camera:
    label = entry.get("name") if isinstance(entry, dict) else None
    camera_label = label if isinstance(label, str) else f"#{index}"
    entry = _require_mapping(entry, file=file, field=f"cameras[{index}]", camera=camera_label)
    _check_keys(entry, CAMERA_KEYS, file=file, camera=camera_label, where="a camera")
    for key in CAMERA_REQUIRED:
        if key not in entry:
            raise RigError("missing required field", file=file, camera=camera_label, field=key)
    if ("R" in entry) == ("rvec" in entry):
        raise RigError(
            "expected exactly one of 'R' (3x3 matrix) or 'rvec' (Rodrigues vector)",
            file=file,
            camera=camera_label,
            field="R",
        )
    try:
        if "rvec" in entry:
            rvec = np.asarray(entry["rvec"], dtype=np.float64)
            if rvec.shape != (3,) or not np.all(np.isfinite(rvec)):
                raise RigError(f"expected 3 finite numbers, got {entry['rvec']!r}", field="rvec")
            R = cv2.Rodrigues(rvec)[0]
        else:
            R = entry["R"]
        t = np.asarray(entry["t"], dtype=np.float64) * metres_per_unit if _is_numeric(entry["t"]) else entry["t"]
        return Camera(
            name=entry["name"],
            width=entry["width"],
            height=entry["height"],
            K=entry["K"],
            dist=entry.get("dist", [0.0] * 5),
            R=R,
            t=t,
        )
    except RigError as error:
        raise error.located(file=file, camera=camera_label) from None
    except (TypeError, ValueError) as error:
        raise RigError(f"could not read the camera: {error}", file=file, camera=camera_label) from None


def _is_numeric(value: Any) -> bool:
    try:
        np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def rig_from_dict(data: Any, file: str | Path = "<rig>", check_paths: bool = True) -> Rig:
    """Build a Rig from the parsed YAML mapping of a rig file; `file` names it in errors and anchors relative paths."""
    file = Path(file)
    data = _require_mapping(data, file=file, field="<top level>")
    _check_keys(data, TOP_KEYS, file=file, camera=None, where="the top level")
    version = data.get("version", RIG_FORMAT_VERSION)
    if version != RIG_FORMAT_VERSION:
        raise RigError(f"expected format version {RIG_FORMAT_VERSION}, got {version!r}", file=file, field="version")
    units = data.get("units", "m")
    if units not in UNIT_TO_METRES:
        raise RigError(f"expected one of {', '.join(UNIT_TO_METRES)}, got {units!r}", file=file, field="units")
    entries = data.get("cameras")
    if not isinstance(entries, list) or not entries:
        raise RigError("expected a non-empty list of cameras", file=file, field="cameras")
    cameras = [_parse_camera(entry, i, file, UNIT_TO_METRES[units]) for i, entry in enumerate(entries)]
    names = [camera.name for camera in cameras]
    for name in names:
        if names.count(name) > 1:
            raise RigError("duplicate camera name: every camera needs a unique name", file=file, camera=name, field="name")
    folders = {}
    for camera, entry in zip(cameras, entries):
        folder = entry.get("folder", camera.name)
        if not isinstance(folder, str) or not folder:
            raise RigError(f"expected a folder name (string), got {folder!r}", file=file, camera=camera.name, field="folder")
        folders[camera.name] = folder
    layout = _parse_capture(data["capture"], file, folders, check_paths) if data.get("capture") is not None else None
    return Rig(tuple(cameras), layout, file)


def load_rig(path: str | Path, check_paths: bool = True) -> Rig:
    """Read and validate a rig.yaml. `check_paths=False` skips checking that the capture's folders exist."""
    path = Path(path)
    if not path.is_file():
        raise RigError(f"expected a rig file, but {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        head = path.read_bytes()[:2]
        what = " (it starts like a Python pickle)" if head[:1] == b"\x80" else ""
        raise RigError(
            f"expected a rig.yaml (UTF-8 text, docs/rig-format.md), got a binary file{what}; convert other formats "
            "with `capture rig import`",
            file=path,
        ) from None
    except yaml.YAMLError as error:
        raise RigError(f"not valid YAML: {' '.join(str(error).split())}", file=path) from None
    rig = rig_from_dict(data, path, check_paths=check_paths)
    for warning in check_scale(rig, data.get("units", "m")):
        logger.warning("%s: %s", path, warning)
    return rig


def keep_capture(rig: Rig, existing: str | Path) -> tuple[Rig, str]:
    """`rig` with the capture: section of the rig file `existing` (if it has one), and a sentence saying what was
    kept (or why nothing was); ("", rig) unchanged when `existing` does not exist."""
    existing = Path(existing)
    if not existing.exists():
        return rig, ""
    try:
        layout = load_rig(existing, check_paths=False).layout
    except RigError as error:
        return rig, f"replaced {existing}, which was not a readable rig file ({error.detail})"
    if layout is None:
        return rig, f"replaced {existing} (it had no capture: section)"
    kept = dict(layout.camera_folders)
    layout = dataclasses.replace(layout, camera_folders={name: kept[name] for name in rig.names if name in kept})
    return Rig(rig.cameras, layout, rig.source), f"kept the capture: section of the previous {existing}"


def _relative(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def rig_to_dict(rig: Rig, base: str | Path = ".") -> dict:
    """The rig.yaml mapping of `rig`; capture folders are written relative to `base` (the file's folder)."""
    base = Path(base)
    cameras = []
    for camera in rig.cameras:
        entry: dict[str, Any] = {"name": camera.name}
        if rig.layout is not None and rig.layout.camera_folder(camera.name) != camera.name:
            entry["folder"] = rig.layout.camera_folder(camera.name)
        entry.update(
            width=camera.width,
            height=camera.height,
            K=camera.K.tolist(),
            dist=camera.dist.tolist(),
            R=camera.R.tolist(),
            t=camera.t.tolist(),
        )
        cameras.append(entry)
    data: dict[str, Any] = {"version": RIG_FORMAT_VERSION, "units": "m"}
    layout = rig.layout
    if layout is not None:
        capture: dict[str, Any] = {}
        for key in ("images", "videos", "masks", "keypoints"):
            value = _relative(getattr(layout, key), base)
            if value is not None:
                capture[key] = value
        if layout.keypoint_format is not None:
            capture["keypoint_format"] = layout.keypoint_format
        frames = layout.frames
        capture["frames"] = {"start": frames.start, "stop": frames.stop, "step": frames.step}
        if layout.fps is not None:
            capture["fps"] = layout.fps
        data["capture"] = capture
    data["cameras"] = cameras
    return data


class _FlowListDumper(yaml.SafeDumper):
    """Writes lists of numbers (vectors, matrix rows) on one line, everything else in block style."""


def _represent_list(dumper: yaml.SafeDumper, value: list):
    flow = all(isinstance(item, (int, float)) for item in value) or all(
        isinstance(row, list) and all(isinstance(item, (int, float)) for item in row) for row in value
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow and bool(value))


_FlowListDumper.add_representer(list, _represent_list)


def save_rig(rig: Rig, path: str | Path, header: str | None = None) -> Path:
    """Write `rig` to `path` as rig.yaml (atomically). `header` becomes a leading comment."""
    path = Path(path)
    text = yaml.dump(rig_to_dict(rig, path.parent), Dumper=_FlowListDumper, sort_keys=False, width=120)
    comment = "# rig.yaml: cameras (OpenCV convention, world -> camera, metres); schema in docs/rig-format.md\n"
    if header:
        comment += "".join(f"# {line}\n" for line in header.splitlines())
    atomic_write_text(path, comment + text)
    return path
