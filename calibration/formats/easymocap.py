"""EasyMocap / ZJU-MoCap `intri.yml` + `extri.yml` (OpenCV FileStorage YAML): import and export.

intri.yml: `names` (list of camera names; "none" entries are skipped), per camera `K_<name>` (3x3),
`dist_<name>` (or `D_<name>`; 1x5, 5x1, 1x4 or 4x1 [k1, k2, p1, p2(, k3)]), optional `H_<name>`/`W_<name>`
(image size in pixels). extri.yml: per camera `R_<name>` (Rodrigues vector, world -> camera), `Rot_<name>`
(3x3 matrix, preferred when both are present; they must agree within ROTATION_AGREEMENT_RAD) and `T_<name>`
(3x1, metres). The world is kept as it is.

Image size: when H_/W_ are missing, `image_size=(width, height)` fills them; without it the import stops with
an error that names the camera and suggests the size twice the principal point gives (never guessed silently).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import cv2
import numpy as np

from calibration.atomic import atomic_write_text
from calibration.camera import Camera
from calibration.errors import RigError
from calibration.formats import fields
from calibration.rig import Rig

log = logging.getLogger(__name__)

INTRI_FILE = "intri.yml"
EXTRI_FILE = "extri.yml"
ROTATION_AGREEMENT_RAD = 1e-4
"""R_ (Rodrigues) and Rot_ (matrix) of one camera must describe the same rotation within this angle."""
_KEY_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def resolve_sources(sources: list[Path]) -> tuple[Path, Path]:
    """(intri.yml, extri.yml) from [intri.yml, extri.yml] (in that order) or [folder containing both]."""
    sources = [Path(source) for source in sources]
    if len(sources) == 1 and sources[0].is_dir():
        folder = sources[0]
        return (
            fields.require_file(folder / INTRI_FILE, f"{INTRI_FILE} in the folder {folder}"),
            fields.require_file(folder / EXTRI_FILE, f"{EXTRI_FILE} in the folder {folder}"),
        )
    if len(sources) != 2:
        raise RigError(
            f"expected [intri.yml, extri.yml] or [a folder containing both], got {len(sources)} path(s): "
            f"{', '.join(map(str, sources)) or 'none'}",
            field="sources",
        )
    return (
        fields.require_file(sources[0], "an EasyMocap intri.yml (intrinsics; the first source)"),
        fields.require_file(sources[1], "an EasyMocap extri.yml (extrinsics; the second source)"),
    )


def _open(path: Path) -> cv2.FileStorage:
    try:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as error:  # a parse error surfaces as SystemError wrapping cv2.error
        cause = error.__cause__ if isinstance(error.__cause__, cv2.error) else error
        detail = str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
        raise RigError(f"expected an OpenCV FileStorage YAML file, could not parse it: {detail}", file=path) from None
    if not storage.isOpened():
        raise RigError("expected an OpenCV FileStorage YAML file, could not open it", file=path)
    return storage


def _names(storage: cv2.FileStorage, path: Path) -> list[str]:
    node = storage.getNode("names")
    if node.empty() or not node.isSeq():
        raise RigError("expected a list of camera names", file=path, field="names")
    names = []
    for index in range(node.size()):
        item = node.at(index)
        if item.isString():
            name = item.string()
        elif item.isInt():
            name = str(int(item.real()))
        else:
            raise RigError(f"expected camera names (strings), entry {index} is not one", file=path, field="names")
        if name != "none":
            names.append(name)
    if not names:
        raise RigError("expected at least one camera name (other than 'none')", file=path, field="names")
    return names


def _matrix(storage: cv2.FileStorage, key: str, path: Path, camera: str) -> np.ndarray | None:
    """The !!opencv-matrix at `key` as float64, or None when the key is absent."""
    node = storage.getNode(key)
    if node.empty():
        return None
    value = node.mat()
    if value is None:
        raise RigError("expected an !!opencv-matrix (rows, cols, dt, data)", file=path, camera=camera, field=key)
    return np.asarray(value, dtype=np.float64)


def _size(storage: cv2.FileStorage, key: str, path: Path, camera: str) -> int | None:
    node = storage.getNode(key)
    if node.empty():
        return None
    if not (node.isInt() or node.isReal()):
        raise RigError("expected a whole number of pixels", file=path, camera=camera, field=key)
    return fields.image_dimension(node.real(), file=path, camera=camera, field=key)


def _image_size(
    storage: cv2.FileStorage, path: Path, camera: str, K: np.ndarray, image_size: tuple[int, int] | None
) -> tuple[int, int]:
    width, height = _size(storage, f"W_{camera}", path, camera), _size(storage, f"H_{camera}", path, camera)
    if image_size is not None:
        for key, in_file, given in ((f"W_{camera}", width, image_size[0]), (f"H_{camera}", height, image_size[1])):
            if in_file is not None and in_file != given:
                raise RigError(
                    f"the file says {in_file} px but image_size (--image-size) says {given} px; "
                    "drop the option or fix the file",
                    file=path,
                    camera=camera,
                    field=key,
                )
        return image_size
    if width is None or height is None:
        missing = " and ".join(key for key, value in ((f"W_{camera}", width), (f"H_{camera}", height)) if value is None)
        guess = f"{round(2 * K[0, 2])}x{round(2 * K[1, 2])}"
        raise RigError(
            f"expected the image size ({missing} missing); pass image_size=(width, height) "
            f"(CLI: --image-size WIDTH HEIGHT); twice the principal point suggests {guess}",
            file=path,
            camera=camera,
            field=missing.split(" ")[0],
        )
    return width, height


def _rotation(storage: cv2.FileStorage, path: Path, camera: str) -> np.ndarray:
    matrix = _matrix(storage, f"Rot_{camera}", path, camera)
    rvec = _matrix(storage, f"R_{camera}", path, camera)
    if matrix is None and rvec is None:
        raise RigError(
            "missing: expected R_ (Rodrigues 3x1) or Rot_ (3x3 matrix)", file=path, camera=camera, field=f"R_{camera}"
        )
    R = fields.rotation(matrix, file=path, camera=camera, field=f"Rot_{camera}") if matrix is not None else None
    if rvec is None:
        return R
    from_rvec = fields.rodrigues(rvec, file=path, camera=camera, field=f"R_{camera}")
    if R is None:
        return from_rvec
    angle = fields.rotation_angle_between(R, from_rvec)
    if angle > ROTATION_AGREEMENT_RAD:
        raise RigError(
            f"expected R_{camera} (Rodrigues) and Rot_{camera} (matrix) to be the same rotation, "
            f"they differ by {angle:.3g} rad (tolerance {ROTATION_AGREEMENT_RAD:g}); fix or delete one of them",
            file=path,
            camera=camera,
            field=f"Rot_{camera}",
        )
    return R


def read_easymocap(intri_path: Path, extri_path: Path, image_size: tuple[int, int] | None = None) -> Rig:
    """Cameras from EasyMocap intri.yml + extri.yml, in the order of intri.yml's `names`.

    image_size: (width, height) for cameras without H_/W_ (must match them where present).
    """
    intri, extri = _open(intri_path), _open(extri_path)
    cameras = []
    for name in _names(intri, intri_path):
        K = _matrix(intri, f"K_{name}", intri_path, name)
        if K is None:
            raise RigError("missing: expected a 3x3 intrinsics matrix", file=intri_path, camera=name, field=f"K_{name}")
        K = fields.as_array(K, (3, 3), file=intri_path, camera=name, field=f"K_{name}")
        dist_key = f"dist_{name}" if not intri.getNode(f"dist_{name}").empty() else f"D_{name}"
        dist = _matrix(intri, dist_key, intri_path, name)
        if dist is None:
            log.warning("%s: camera '%s': no dist_%s; assuming no distortion", intri_path, name, name)
            dist = np.zeros(5)
        dist = fields.distortion(dist, file=intri_path, camera=name, field=dist_key)
        width, height = _image_size(intri, intri_path, name, K, image_size)
        R = _rotation(extri, extri_path, name)
        t = _matrix(extri, f"T_{name}", extri_path, name)
        if t is None:
            raise RigError("missing: expected a 3x1 translation in metres", file=extri_path, camera=name,
                           field=f"T_{name}")
        t = fields.as_array(t, (3,), file=extri_path, camera=name, field=f"T_{name}")
        cameras.append(fields.make_camera(intri_path, name=name, width=width, height=height, K=K, dist=dist, R=R, t=t))
    return Rig(tuple(cameras), source=intri_path)


def _check_exportable(camera: Camera) -> None:
    if not _KEY_SAFE_NAME.match(camera.name) or camera.name == "none":
        raise RigError(
            "expected a camera name of letters, digits, '_' or '-' (OpenCV FileStorage keys such as K_<name>), "
            "other than 'none'; rename the camera in rig.yaml",
            camera=camera.name,
            field="name",
        )


def _storage_text(write) -> str:
    storage = cv2.FileStorage(
        "memory.yml", cv2.FILE_STORAGE_WRITE | cv2.FILE_STORAGE_MEMORY | cv2.FILE_STORAGE_FORMAT_YAML
    )
    write(storage)
    return storage.releaseAndGetString()


def _write_names(storage: cv2.FileStorage, rig: Rig) -> None:
    storage.startWriteStruct("names", cv2.FileNode_SEQ)
    for name in rig.names:
        storage.write("", name)
    storage.endWriteStruct()


def write_easymocap(rig: Rig, out_dir: Path) -> list[Path]:
    """Write out_dir/intri.yml and out_dir/extri.yml (full float64 precision) that EasyMocap reads back.

    intri.yml: names, K_, dist_ (1x5), H_, W_; extri.yml: names, R_ (Rodrigues 3x1), Rot_ (3x3), T_ (3x1, m).
    """
    for camera in rig.cameras:
        _check_exportable(camera)

    def intrinsics(storage: cv2.FileStorage) -> None:
        _write_names(storage, rig)
        for camera in rig.cameras:
            storage.write(f"K_{camera.name}", np.array(camera.K))
            storage.write(f"dist_{camera.name}", np.array(camera.dist).reshape(1, 5))
            storage.write(f"H_{camera.name}", camera.height)
            storage.write(f"W_{camera.name}", camera.width)

    def extrinsics(storage: cv2.FileStorage) -> None:
        _write_names(storage, rig)
        for camera in rig.cameras:
            storage.write(f"R_{camera.name}", cv2.Rodrigues(np.array(camera.R))[0])
            storage.write(f"Rot_{camera.name}", np.array(camera.R))
            storage.write(f"T_{camera.name}", np.array(camera.t).reshape(3, 1))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, write in ((INTRI_FILE, intrinsics), (EXTRI_FILE, extrinsics)):
        path = out_dir / file_name
        atomic_write_text(path, _storage_text(write))
        written.append(path)
    return written
