"""Reading the fields of foreign calibration files: arrays, rotations, image sizes, cameras.

Every helper takes the `file`, `camera` and `field` it reads, so a bad value raises a RigError that names all
three and says what was expected. The importers (one module per format) build their cameras only through
these helpers.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from calibration.camera import Camera, check_rotation
from calibration.errors import RigError

log = logging.getLogger(__name__)

FILE_ROTATION_TOLERANCE = 1e-4
"""Rotation matrices in foreign files are often printed with 6 decimals (EasyMocap writes '%.6f'), so they
are orthonormal only to ~1e-6. A matrix within this tolerance of a rotation is snapped to the nearest rotation
(SVD); anything further off is refused."""


def as_array(value: Any, shape: tuple[int, ...], *, file: Path | None, camera: str | None, field: str) -> np.ndarray:
    """`value` as a float64 array of `shape`, or a RigError naming the file, camera and field.

    A vector (shape (n,)) may also be given as a column (n, 1) or a row (1, n), as OpenCV files store them.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise RigError(
            f"expected numbers of shape {shape}, got {value!r}", file=file, camera=camera, field=field
        ) from None
    if len(shape) == 1 and array.ndim == 2 and 1 in array.shape and array.size == shape[0]:
        array = array.reshape(shape)
    if array.shape != shape:
        raise RigError(f"expected shape {shape}, got shape {array.shape}", file=file, camera=camera, field=field)
    if not np.all(np.isfinite(array)):
        raise RigError(
            f"expected finite numbers, got {array.tolist()} (NaN or inf)", file=file, camera=camera, field=field
        )
    return array


def distortion(value: Any, *, file: Path, camera: str, field: str) -> np.ndarray:
    """(5,) [k1, k2, p1, p2, k3] from 4 or 5 coefficients (k3 = 0 when only 4 are given)."""
    try:
        count = np.asarray(value, dtype=np.float64).size
    except (TypeError, ValueError):
        count = -1
    if count not in (4, 5):
        raise RigError(
            f"expected 4 or 5 distortion coefficients [k1, k2, p1, p2(, k3)], got {value!r}",
            file=file,
            camera=camera,
            field=field,
        )
    flat = as_array(np.asarray(value, dtype=np.float64).reshape(-1), (count,), file=file, camera=camera, field=field)
    return np.concatenate([flat, np.zeros(5 - count)])


def rotation(value: Any, *, file: Path, camera: str, field: str) -> np.ndarray:
    """(3, 3) world -> camera rotation read from a matrix; snapped to the nearest rotation within
    FILE_ROTATION_TOLERANCE (limited printed precision), refused beyond it."""
    R = as_array(value, (3, 3), file=file, camera=camera, field=field)
    deviation = check_rotation(R, camera, field, tolerance=FILE_ROTATION_TOLERANCE, file=file)
    if deviation > 1e-12:
        U, _, Vt = np.linalg.svd(R)  # float64; U @ Vt is the nearest orthonormal matrix (det +1 this close to R)
        log.debug("%s: camera '%s': %s snapped to the nearest rotation (was off by %.2g)", file, camera, field, deviation)
        R = U @ Vt
    return R


def rodrigues(value: Any, *, file: Path, camera: str, field: str) -> np.ndarray:
    """(3, 3) rotation from a Rodrigues (axis * angle, radians) vector given as (3,), (3, 1) or (1, 3)."""
    rvec = as_array(value, (3,), file=file, camera=camera, field=field)
    return cv2.Rodrigues(rvec.reshape(3, 1))[0]


def rotation_angle_between(R1: np.ndarray, R2: np.ndarray) -> float:
    """Angle in radians of the rotation R1 R2^T (0 when they agree)."""
    cos = (np.trace(R1 @ R2.T) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def image_dimension(value: Any, *, file: Path | None, camera: str | None, field: str) -> int:
    """A positive integer pixel count; integer-valued floats (1088.0) are accepted."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise RigError(f"expected a positive whole number of pixels, got {value!r}", file=file, camera=camera,
                       field=field)
    return int(value)


def image_size_option(image_size: Any) -> tuple[int, int] | None:
    """Validate the `image_size` option: None or (width, height) positive integers."""
    if image_size is None:
        return None
    try:
        width, height = image_size
    except (TypeError, ValueError):
        raise RigError(f"expected (width, height) in pixels, got {image_size!r}", field="image_size") from None
    return (
        image_dimension(width, file=None, camera=None, field="image_size.width"),
        image_dimension(height, file=None, camera=None, field="image_size.height"),
    )


def make_camera(file: Path, **fields: Any) -> Camera:
    """A validated Camera; its RigError (if any) is re-raised with the file filled in."""
    try:
        return Camera(**fields)
    except RigError as error:
        raise error.located(file=file, camera=fields.get("name")) from None


def require_file(path: Path, what: str) -> Path:
    """`path` if it is an existing file, else a RigError saying which file was expected."""
    path = Path(path)
    if not path.is_file():
        raise RigError(f"expected {what}, but the file does not exist", file=path)
    return path


def load_toml(path: Path) -> dict:
    """The parsed TOML file, or a RigError naming it when it is not TOML (binary, bad syntax)."""
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RigError(f"expected a TOML file, could not parse it: {error}", file=path) from None


def toml_camera(path: Path, name: str, entry: dict, read_rotation) -> Camera:
    """A camera from a TOML table with `size` [width, height], `matrix` (K), `distortions` (4 or 5), `rotation`
    (read by `read_rotation`, one of `rodrigues` / `rotation`) and `translation` (metres): the layout Anipose and
    caliscope share. The caller has checked that the keys are present."""
    size = entry["size"]
    if not isinstance(size, list) or len(size) != 2:
        raise RigError(f"expected [width, height], got {size!r}", file=path, camera=name, field="size")
    return make_camera(
        path,
        name=name,
        width=image_dimension(size[0], file=path, camera=name, field="size[0] (width)"),
        height=image_dimension(size[1], file=path, camera=name, field="size[1] (height)"),
        K=as_array(entry["matrix"], (3, 3), file=path, camera=name, field="matrix"),
        dist=distortion(entry["distortions"], file=path, camera=name, field="distortions"),
        R=read_rotation(entry["rotation"], file=path, camera=name, field="rotation"),
        t=as_array(entry["translation"], (3,), file=path, camera=name, field="translation"),
    )
