"""ZJU-MoCap `annots.npy`: import.

The file is a pickled dict whose `cams` holds lists (one entry per camera) `K` (3x3), `D` (5x1
[k1, k2, p1, p2, k3]), `R` (3x3 world -> camera) and `T` (3x1, millimetres -> converted to metres).
Unpickling can run arbitrary code, so the file is read only with `allow_pickle=True` (CLI --allow-pickle).

Camera names: the image folder of each camera in the first frame's `ims` list (e.g. "Camera_B1" for
"Camera_B1/000000.jpg"), so the rig's camera folders match the images; "00", "01", ... when `ims` is missing
or does not name one folder per camera. Image size: not stored in the file; ZJU-MoCap images are 1024 x 1024,
the default of `image_size`.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np

from calibration.errors import RigError
from calibration.formats import fields
from calibration.rig import Rig

ZJU_IMAGE_SIZE = (1024, 1024)
METRES_PER_MM = 0.001
_CAMERA_KEYS = ("K", "D", "R", "T")


def read_zju_annots(path: Path, allow_pickle: bool = False, image_size: tuple[int, int] = ZJU_IMAGE_SIZE) -> Rig:
    """Cameras from a ZJU-MoCap annots.npy; image_size (width, height) applies to every camera."""
    path = fields.require_file(path, "a ZJU-MoCap annots.npy")
    _check_header(path)
    if not allow_pickle:
        raise RigError(
            "this file is a Python pickle, and loading a pickle can run arbitrary code; pass allow_pickle=True "
            "(CLI --allow-pickle) only for files you trust",
            file=path,
        )
    data = _load(path)
    cams = data.get("cams")
    if not isinstance(cams, dict):
        raise RigError("expected a mapping with lists K, D, R, T", file=path, field="cams")
    for key in _CAMERA_KEYS:
        if not isinstance(cams.get(key), (list, tuple, np.ndarray)):
            raise RigError("missing: expected one entry per camera", file=path, field=f"cams.{key}")
    counts = {key: len(cams[key]) for key in _CAMERA_KEYS}
    if len(set(counts.values())) != 1 or counts["K"] == 0:
        raise RigError(f"expected the same non-zero number of cameras in K, D, R, T, got {counts}", file=path,
                       field="cams")
    names = _camera_names(data, counts["K"])
    width, height = image_size
    cameras = []
    for index, name in enumerate(names):
        t_mm = fields.as_array(cams["T"][index], (3,), file=path, camera=name, field=f"cams.T[{index}]")
        cameras.append(
            fields.make_camera(
                path,
                name=name,
                width=width,
                height=height,
                K=fields.as_array(cams["K"][index], (3, 3), file=path, camera=name, field=f"cams.K[{index}]"),
                dist=fields.distortion(cams["D"][index], file=path, camera=name, field=f"cams.D[{index}]"),
                R=fields.rotation(cams["R"][index], file=path, camera=name, field=f"cams.R[{index}]"),
                t=t_mm * METRES_PER_MM,
            )
        )
    return Rig(tuple(cameras), source=path)


def _check_header(path: Path) -> None:
    """A RigError unless the .npy header (read without unpickling anything) announces a pickled object."""
    try:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:  # 2.0 and 3.0 share the header layout
                _, _, dtype = np.lib.format.read_array_header_2_0(handle)
    except (OSError, ValueError) as error:
        raise RigError(f"expected a .npy file saved with numpy.save, could not read its header: {error}",
                       file=path) from None
    if dtype != object:
        raise RigError(f"expected a pickled dict (object array), got an array of {dtype}", file=path)


def _load(path: Path) -> dict:
    try:
        array = np.load(path, allow_pickle=True)
    except Exception as error:  # unpickling can raise almost anything (ImportError, EOFError, ...); report it
        raise RigError(f"expected a pickled dict saved with numpy.save, could not load it: {error!r}",
                       file=path) from None
    if not isinstance(array, np.ndarray) or array.dtype != object or array.shape != ():
        raise RigError("expected a pickled dict saved with numpy.save (a 0-d object array)", file=path)
    data = array.item()
    if not isinstance(data, dict):
        raise RigError(f"expected a dict, got {type(data).__name__}", file=path)
    return data


def _camera_names(data: dict, count: int) -> list[str]:
    """The image folder of each camera in the first frame, else "00", "01", ..."""
    fallback = [f"{index:02d}" for index in range(count)]
    frames = data.get("ims")
    try:
        images = frames[0]["ims"]
        folders = [PurePosixPath(str(image).replace("\\", "/")).parent.name for image in images]
    except (TypeError, KeyError, IndexError):
        return fallback
    if len(folders) != count or len(set(folders)) != count or "" in folders:
        return fallback
    return folders
