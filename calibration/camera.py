"""The one camera type of the project.

Convention (OpenCV, written once here and pinned by tests/test_camera.py):
    x_cam = R @ x_world + t                      (world -> camera, metres)
    (x, y) = x_cam[:2] / x_cam[2]                (camera looks down +z, x right, y down)
    (x_d, y_d) = distort((x, y), [k1, k2, p1, p2, k3])
    pixel = K @ (x_d, y_d, 1)                    (pixel centres at integer coordinates, origin top-left)
"""

from __future__ import annotations

import math
from pathlib import Path
from dataclasses import dataclass, field

import numpy as np

from calibration.errors import RigError

ROTATION_TOLERANCE = 1e-6


def _as_matrix(value, shape: tuple[int, ...], name: str, camera: str) -> np.ndarray:
    """`value` as a float64 array of `shape`, or a RigError naming the field."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise RigError(f"expected numbers of shape {shape}, got {value!r}", camera=camera, field=name) from None
    if array.shape != shape:
        raise RigError(
            f"expected shape {shape}, got shape {array.shape}", camera=camera, field=name
        )
    if not np.all(np.isfinite(array)):
        raise RigError(f"expected finite numbers, got {array.tolist()} (NaN or inf)", camera=camera, field=name)
    return array


def check_rotation(
    R: np.ndarray, camera: str, name: str = "R", tolerance: float = ROTATION_TOLERANCE, file: str | Path | None = None
) -> float:
    """Raise a RigError unless R is orthonormal with det +1 within `tolerance`; return its largest deviation
    (max of |R R^T - I| and |det - 1|)."""
    orthogonality = float(np.abs(R @ R.T - np.eye(3)).max())
    det = float(np.linalg.det(R))
    if orthogonality > tolerance or abs(det - 1.0) > tolerance:
        raise RigError(
            f"expected a rotation matrix (orthonormal, det = +1, within {tolerance:g}), "
            f"got det = {det:.9f}, max |R R^T - I| = {orthogonality:.3g}",
            file=file,
            camera=camera,
            field=name,
        )
    return max(orthogonality, abs(det - 1.0))


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated pinhole camera with OpenCV radial-tangential distortion.

    Attributes:
        name: unique name within a rig, e.g. "cam01".
        width, height: image size in pixels.
        K: (3, 3) intrinsics [[fx, s, cx], [0, fy, cy], [0, 0, 1]], pixels.
        dist: (5,) distortion [k1, k2, p1, p2, k3].
        R: (3, 3) world -> camera rotation.
        t: (3,) world -> camera translation, metres.

    All arrays are float64 and validated on construction; a bad value raises RigError naming the field.
    """

    name: str
    width: int
    height: int
    K: np.ndarray
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise RigError(f"expected a non-empty string, got {self.name!r}", field="name")
        for size_name in ("width", "height"):
            value = getattr(self, size_name)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise RigError(f"expected a positive integer, got {value!r}", camera=self.name, field=size_name)
            object.__setattr__(self, size_name, int(value))
        K = _as_matrix(self.K, (3, 3), "K", self.name)
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise RigError(
                f"expected positive focal lengths fx, fy, got fx = {K[0, 0]:g}, fy = {K[1, 1]:g}",
                camera=self.name,
                field="K",
            )
        if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0.0:
            raise RigError(
                f"expected an upper-triangular K with last row [0, 0, 1], got {K.tolist()}",
                camera=self.name,
                field="K",
            )
        dist = np.asarray(self.dist, dtype=np.float64).reshape(-1) if self.dist is not None else np.zeros(5)
        if dist.size in (4, 5) or dist.size == 0:
            dist = np.concatenate([dist, np.zeros(5 - dist.size)])
        dist = _as_matrix(dist, (5,), "dist", self.name)
        R = _as_matrix(self.R, (3, 3), "R", self.name)
        check_rotation(R, self.name)
        t = _as_matrix(np.asarray(self.t, dtype=np.float64).reshape(-1), (3,), "t", self.name)
        for attr, value in (("K", K), ("dist", dist), ("R", R), ("t", t)):
            value.setflags(write=False)
            object.__setattr__(self, attr, value)

    # --- derived quantities -------------------------------------------------------------------------

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width, self.height)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates, metres: C = -R^T t."""
        return -self.R.T @ self.t

    @property
    def extrinsics(self) -> np.ndarray:
        """(3, 4) [R | t], world -> camera."""
        return np.hstack([self.R, self.t[:, None]])

    @property
    def projection_matrix(self) -> np.ndarray:
        """(3, 4) P = K [R | t] (ignores distortion)."""
        return self.K @ self.extrinsics

    @property
    def viewing_direction(self) -> np.ndarray:
        """(3,) unit optical axis (camera +z) in world coordinates."""
        return self.R[2].copy()

    @property
    def fov_deg(self) -> tuple[float, float]:
        """(horizontal, vertical) field of view in degrees from the focal lengths and image size."""
        fx, fy = self.K[0, 0], self.K[1, 1]
        return (
            math.degrees(2.0 * math.atan(self.width / (2.0 * fx))),
            math.degrees(2.0 * math.atan(self.height / (2.0 * fy))),
        )

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0.0))

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 3) camera coordinates, metres."""
        return np.asarray(points, dtype=np.float64) @ self.R.T + self.t

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 2) pixels, with distortion (numpy; see calibration.geometry for torch).

        Points behind the camera give meaningless pixels; check `world_to_camera(p)[..., 2] > 0`.
        """
        x_cam = self.world_to_camera(points)
        xy = x_cam[..., :2] / x_cam[..., 2:3]
        xy = distort_normalized(xy, self.dist)
        return xy @ self.K[:2, :2].T + self.K[:2, 2]

    def sees(self, points: np.ndarray, margin_px: float = 0.0) -> np.ndarray:
        """(...,) bool: point is in front of the camera and projects inside the image (minus a margin)."""
        in_front = self.world_to_camera(points)[..., 2] > 1e-9
        uv = self.project(points)
        inside = (
            (uv[..., 0] >= -0.5 + margin_px)
            & (uv[..., 0] <= self.width - 0.5 - margin_px)
            & (uv[..., 1] >= -0.5 + margin_px)
            & (uv[..., 1] <= self.height - 0.5 - margin_px)
        )
        return in_front & inside

    def replace(self, **changes) -> "Camera":
        """A copy with some fields changed (validated again)."""
        values = {name: getattr(self, name) for name in ("name", "width", "height", "K", "dist", "R", "t")}
        values.update(changes)
        return Camera(**values)

    def resized(self, width: int, height: int) -> "Camera":
        """The same camera with its image resampled to `width` x `height` pixels (K scaled so that every world
        point lands on the same place of the picture; pixel centres stay at integer coordinates)."""
        sx, sy = width / self.width, height / self.height
        K = self.K * np.array([[sx], [sy], [1.0]])
        K[0, 2], K[1, 2] = sx * (self.K[0, 2] + 0.5) - 0.5, sy * (self.K[1, 2] + 0.5) - 0.5
        return self.replace(K=K, width=int(width), height=int(height))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Camera):
            return NotImplemented
        return (
            self.name == other.name
            and self.image_size == other.image_size
            and all(np.array_equal(getattr(self, a), getattr(other, a)) for a in ("K", "dist", "R", "t"))
        )

    def __repr__(self) -> str:
        c = self.center
        return (
            f"Camera({self.name!r}, {self.width}x{self.height}, f=({self.K[0, 0]:.1f}, {self.K[1, 1]:.1f}), "
            f"centre=({c[0]:.3f}, {c[1]:.3f}, {c[2]:.3f}) m)"
        )


def distort_normalized(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """(..., 2) undistorted normalised coordinates -> (..., 2) distorted ones (OpenCV model, 5 coefficients)."""
    k1, k2, p1, p2, k3 = dist
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    x_d = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    y_d = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.stack([x_d, y_d], axis=-1)


def look_at_rotation(center: np.ndarray, target: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """(3, 3) world -> camera rotation for a camera at `center` looking at `target`.

    Convention: camera +z towards the target, camera -y (image up) as close as possible to world `up`.
    """
    center, target, up = (np.asarray(a, dtype=np.float64) for a in (center, target, up))
    z = target - center
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("look_at_rotation: viewing direction is parallel to `up`; choose another up vector")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])
