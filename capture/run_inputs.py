"""The fingerprint of a capture's inputs, kept in run.json, so a run folder is never resumed with another capture.

    fingerprint = input_fingerprint(rig)        # {'rig': {...}, 'files': {'images/cam00/000000.png': [size, mtime_ns]}}
    differences = input_differences(old, new)   # [] when `new` may resume a run made from `old`

The rig part is a SHA-256 of the cameras (names, sizes, K, distortion, R, t) and the capture section's keypoint
format and camera folders (not its frame range, fps or absolute paths, so a moved capture still matches). The
files part lists every file of the capture's images, videos, masks and keypoints by path relative to its kind's
folder, with size in bytes and modification time in nanoseconds (what rsync and make compare; contents are not
read). Files added since (more frames, a missing image restored) may join a run; changed or removed ones may not.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from calibration.rig import Rig

KINDS = ("images", "videos", "masks", "keypoints")
SHOWN = 3
"""Differences named per kind of difference in the message; the rest are counted."""


def rig_digest(rig: Rig) -> str:
    """SHA-256 (hex) of what in the rig changes the results: cameras, keypoint format, camera folders."""
    from calibration.rig_file import rig_to_dict

    data = rig_to_dict(rig, rig.source.parent if rig.source else ".")
    capture = data.get("capture", {})
    data["capture"] = {"keypoint_format": capture.get("keypoint_format")}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def _files(folder: Path, prefix: str) -> dict[str, list[int]]:
    """{'<prefix>/<name>': [size, mtime_ns]} of the visible files directly in `folder` (none when it is absent)."""
    if not folder.is_dir():
        return {}
    found = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            stat = entry.stat()
            found[f"{prefix}/{entry.name}"] = [stat.st_size, stat.st_mtime_ns]
    return found


def input_fingerprint(rig: Rig) -> dict:
    """{'rig': {'path': str, 'sha256': rig_digest}, 'files': {relative path: [size, mtime_ns]}} (sorted)."""
    files: dict[str, list[int]] = {}
    layout = rig.layout
    for camera in rig.names if layout is not None else []:
        folder = layout.camera_folder(camera)
        for kind in ("images", "masks", "keypoints"):
            if getattr(layout, kind) is not None:
                files.update(_files(getattr(layout, kind) / folder, f"{kind}/{folder}"))
        video = layout.video_file(camera)
        if video is not None and video.is_file():
            stat = video.stat()
            files[f"videos/{video.name}"] = [stat.st_size, stat.st_mtime_ns]
    return {"rig": {"path": str(rig.source), "sha256": rig_digest(rig)}, "files": dict(sorted(files.items()))}


def _named(label: str, names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
    return f"{len(names)} file(s) {label} ({shown})"


def input_differences(old: dict, new: dict) -> list[str]:
    """What differs between the fingerprint a run was made from (`old`) and the current one (`new`), each as a
    short phrase naming the files; [] when the run may go on (same rig, no file changed or removed)."""
    differences = []
    if old.get("rig", {}).get("sha256") != new["rig"]["sha256"]:
        differences.append(f"the rig's cameras differ (the run was made from {old.get('rig', {}).get('path')}, "
                           f"now {new['rig']['path']})")  # fmt: skip
    before, now = old.get("files", {}), new["files"]
    changed = [name for name in before if name in now and list(before[name]) != list(now[name])]
    removed = [name for name in before if name not in now]
    if changed:
        differences.append(_named("changed since (size or modification time)", changed))
    if removed:
        differences.append(_named("gone", removed))
    return differences
