"""DeepMultiCap `parameter/<subject>/<view>_intrinsic.npy` + `<view>_extrinsic.npy`: import.

Each view has a (3, 3) K and a (3, 4) [R | t] (world -> camera, metres, y-up world), plain float arrays. The
authors' renders match these cameras only with the image rows flipped: a point that K [R | t] projects to row v
appears at row (height - 1) - v. No proper camera does that in the authors' world, so the import mirrors the
world in x (x_rig = MIRROR @ x_authors) and flips the camera's y axis (F = diag(1, -1, 1)):

    R' = F R MIRROR,  t' = F t,  K' = [[fx, -s, cx], [0, fy, (height - 1) - cy], [0, 0, 1]]

which projects MIRROR @ X to exactly the pixel the renders show for X. Anything given in the authors' world (their
SMPL-X fits, scans) must be mapped with `to_rig_world` before it is compared with what the rig sees.

Camera names: the view names (the file names' prefix, e.g. "0", "90", "180", "270"), in numeric order. Image
size: not stored; the renders are 512 x 512, the default of `image_size`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from calibration.errors import RigError
from calibration.formats import fields
from calibration.rig import Rig

DEEPMULTICAP_IMAGE_SIZE = (512, 512)
MIRROR = np.diag([-1.0, 1.0, 1.0])
"""(3, 3) the authors' world -> the rig's world (x mirrored)."""
_FLIP_Y = np.diag([1.0, -1.0, 1.0])
_INTRINSIC = re.compile(r"^(.+)_intrinsic\.npy$")


def to_rig_world(points: np.ndarray) -> np.ndarray:
    """(N, 3) points in the authors' world (metres) -> (N, 3) in the imported rig's world (x mirrored).

    A mirror turns triangles inside out: reverse each face's vertex order when mapping a mesh.
    """
    return np.asarray(points, dtype=np.float64) @ MIRROR.T


def read_deepmulticap(folder: Path, image_size: tuple[int, int] = DEEPMULTICAP_IMAGE_SIZE) -> Rig:
    """Cameras from a DeepMultiCap parameter folder, rows flipped as the renders need (module docstring).

    folder: `parameter/<subject>` (holding the .npy pairs), or the dataset folder holding `parameter/`, whose
    subjects must then all have the same cameras (they are renders of one rig).
    image_size: (width, height) pixels of every view.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RigError("expected a DeepMultiCap folder (parameter/<subject> or the folder holding parameter/), "
                       "but it is not a folder", file=folder)
    if _views(folder):
        return _read_subject(folder, image_size)
    subjects = sorted(path for path in (folder / "parameter").glob("*") if _views(path))
    if not subjects:
        raise RigError("expected <view>_intrinsic.npy and <view>_extrinsic.npy files here or in parameter/<subject>/, "
                       "found none", file=folder)
    rig = _read_subject(subjects[0], image_size)
    for other in subjects[1:]:
        _check_same(rig, _read_subject(other, image_size), other)
    return rig


def _views(folder: Path) -> list[str]:
    """View names of the folder's *_intrinsic.npy files, in numeric order when all are numbers."""
    names = [match.group(1) for path in folder.glob("*_intrinsic.npy") if (match := _INTRINSIC.match(path.name))]
    return sorted(names, key=lambda name: (0, int(name), "") if name.isdigit() else (1, 0, name))


def _read_subject(folder: Path, image_size: tuple[int, int]) -> Rig:
    width, height = image_size
    cameras = []
    for name in _views(folder):
        intrinsic, extrinsic = folder / f"{name}_intrinsic.npy", folder / f"{name}_extrinsic.npy"
        K = fields.as_array(_load(intrinsic), (3, 3), file=intrinsic, camera=name, field="K")
        Rt = fields.as_array(_load(fields.require_file(extrinsic, f"the extrinsics of view {name!r}")), (3, 4),
                             file=extrinsic, camera=name, field="[R | t]")
        R = fields.rotation(Rt[:, :3], file=extrinsic, camera=name, field="R ([R | t][:, :3])")
        cameras.append(
            fields.make_camera(
                intrinsic,
                name=name,
                width=width,
                height=height,
                K=_flip_rows(K, height),
                R=_FLIP_Y @ R @ MIRROR,
                t=_FLIP_Y @ Rt[:, 3],
            )
        )
    return Rig(tuple(cameras), source=folder)


def _flip_rows(K: np.ndarray, height: int) -> np.ndarray:
    """(3, 3) K of the same camera with image rows flipped and its y axis flipped (fy stays positive)."""
    flip_pixels = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, height - 1.0], [0.0, 0.0, 1.0]])
    return flip_pixels @ K @ _FLIP_Y


def _load(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise RigError(f"expected a numeric array saved with numpy.save, could not load it: {error}",
                       file=path) from None


def _check_same(rig: Rig, other: Rig, folder: Path) -> None:
    """A RigError unless `other` (read from `folder`) has the same views and cameras as `rig`."""
    if rig.names != other.names:
        raise RigError(f"expected the views {', '.join(rig.names)} of {rig.source}, got {', '.join(other.names)}; "
                       "pass one parameter/<subject> folder", file=folder)
    for camera, twin in zip(rig.cameras, other.cameras):
        if not (np.allclose(camera.K, twin.K) and np.allclose(camera.R, twin.R) and np.allclose(camera.t, twin.t)):
            raise RigError(f"differs from view {camera.name!r} of {rig.source}; pass one parameter/<subject> folder",
                           file=folder, camera=twin.name)
