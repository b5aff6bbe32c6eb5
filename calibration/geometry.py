"""Differentiable camera geometry in torch: projection, distortion, rays, triangulation, epipolar geometry.

Every function takes tensors with named dims (B batch, V views, N points, J joints/points to triangulate),
works in float32 or float64, broadcasts leading dims the way torch does, and is differentiable (float64
gradchecks in tests/calibration/test_geometry.py). The numpy `Camera` enters through `CameraTensors.from_cameras`.

Convention (the project's camera model, as in calibration/camera.py):
    x_cam = R @ x_world + t                          world -> camera, metres; the camera looks down +z,
                                                     x right, y down (OpenCV)
    (x, y) = x_cam[:2] / x_cam[2]                    normalised image coordinates
    (x_d, y_d) = distort((x, y), [k1, k2, p1, p2, k3])   the OpenCV 5-coefficient model, exactly:
        r2 = x^2 + y^2,  radial = 1 + k1 r2 + k2 r2^2 + k3 r2^3
        x_d = x radial + 2 p1 x y + p2 (r2 + 2 x^2)
        y_d = y radial + p1 (r2 + 2 y^2) + 2 p2 x y
    pixel = K @ (x_d, y_d, 1)                        pixels, centres at integer coordinates, origin top-left;
                                                     a skew K[0, 1] is honoured (OpenCV ignores it)
"Normalised" below always means undistorted normalised coordinates (x, y) unless it says "distorted".

Example (rig_cameras: a list of V Camera, points: (N, 3) float64 tensor):
    cams = CameraTensors.from_cameras(rig_cameras)                    # V cameras, float64
    uv = project_points(points, cams.K, cams.dist, cams.R, cams.t)    # (N, 3) -> (V, N, 2)
    xyz = triangulate_dlt(uv, cams)                                   # (V, N, 2) -> (N, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from calibration.camera import Camera

UNDISTORT_ITERATIONS = 50
"""Default fixed-point iterations of `remove_distortion`. cv2.undistortPoints runs 5 (pass iterations=5 to match
it), which leaves pixel errors of ~1 px in the corners for k1 = -0.15; the iteration converges linearly (rate ~0.5
there); 50 reach 1e-9 px on the test rigs, and the loop stops early once converged.
kornia.geometry.calibration.undistort_points runs the same iteration but ignores skew and OpenCV's guard."""


class ShapeError(ValueError):
    """A tensor argument has the wrong type or shape; the message names the function and argument."""


# --- shape guards --------------------------------------------------------------------------------------


def _shape_str(shape: Sequence[int | str]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _check(fn: str, name: str, x: object, pattern: str, dims: dict[str, tuple[int, str]] | None = None) -> None:
    """Raise ShapeError unless `x` is a floating tensor whose shape matches `pattern`.

    `pattern` is space-separated: a leading "*" matches any number of leading dims, integers must match
    exactly, letters are named dims: the first argument that uses a letter fixes its size in `dims`
    (letter -> (size, argument)) and later arguments must agree.
    """
    if not isinstance(x, Tensor):
        raise ShapeError(f"{fn}: argument '{name}' expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ShapeError(f"{fn}: argument '{name}' expected a floating-point tensor, got dtype {x.dtype}")
    tokens = pattern.split()
    any_leading = tokens[0] == "*"
    fixed = tokens[1:] if any_leading else tokens
    expected = _shape_str(tokens)
    shape = tuple(x.shape)
    if len(shape) < len(fixed) or (not any_leading and len(shape) != len(fixed)):
        raise ShapeError(f"{fn}: argument '{name}' expected shape {expected}, got {_shape_str(shape)}")
    tail = shape[len(shape) - len(fixed) :]
    for token, size in zip(fixed, tail):
        if token.isdigit():
            if size != int(token):
                raise ShapeError(f"{fn}: argument '{name}' expected shape {expected}, got {_shape_str(shape)}")
        elif dims is not None:
            if token in dims and dims[token][0] != size:
                known, source = dims[token]
                raise ShapeError(
                    f"{fn}: argument '{name}' expected shape {expected} with {token} = {known} "
                    f"(from '{source}'), got {_shape_str(shape)}"
                )
            dims.setdefault(token, (size, name))


def _broadcast_batch(fn: str, named: dict[str, tuple[Tensor, int]]) -> torch.Size:
    """The broadcast of the arguments' leading dims (each argument with its number of trailing dims)."""
    leading = {name: tuple(x.shape[: x.dim() - trailing]) for name, (x, trailing) in named.items()}
    try:
        return torch.broadcast_shapes(*leading.values())
    except RuntimeError:
        listed = ", ".join(f"'{name}' {_shape_str(shape)}" for name, shape in leading.items())
        raise ShapeError(f"{fn}: leading (batch) dims do not broadcast: {listed}") from None


# --- cameras as tensors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraTensors:
    """The intrinsics and extrinsics of cameras as tensors with a common leading shape (*), usually (V,).

    Attributes:
        K: (*, 3, 3) intrinsics, pixels.
        dist: (*, 5) OpenCV distortion [k1, k2, p1, p2, k3].
        R: (*, 3, 3) world -> camera rotation.
        t: (*, 3) world -> camera translation, metres.

    Indexing applies to the leading dims of every field (index only those): `cams[2]` is one camera (K (3, 3)),
    `cams[:, None]` has leading shape (V, 1), so `fundamental_matrix(cams[:, None], cams[None])` is (V, V, 3, 3).
    """

    K: Tensor
    dist: Tensor
    R: Tensor
    t: Tensor

    def __post_init__(self) -> None:
        fn = "CameraTensors"
        for name, pattern in (("K", "* 3 3"), ("dist", "* 5"), ("R", "* 3 3"), ("t", "* 3")):
            _check(fn, name, getattr(self, name), pattern)
        shapes = {"K": self.K.shape[:-2], "dist": self.dist.shape[:-1], "R": self.R.shape[:-2], "t": self.t.shape[:-1]}
        if len(set(shapes.values())) != 1:
            listed = ", ".join(f"'{name}' {_shape_str(shape)}" for name, shape in shapes.items())
            raise ShapeError(f"{fn}: fields must share their leading dims, got {listed}")
        fields = {"K": self.K, "dist": self.dist, "R": self.R, "t": self.t}
        kinds = {name: (x.dtype, x.device) for name, x in fields.items()}
        if len(set(kinds.values())) != 1:
            listed = ", ".join(f"'{name}' {dtype} on {device}" for name, (dtype, device) in kinds.items())
            raise ShapeError(f"{fn}: fields must share dtype and device, got {listed}")

    @classmethod
    def from_cameras(
        cls, cameras: Sequence[Camera], dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> "CameraTensors":
        """Stack V numpy cameras into tensors of leading shape (V,)."""
        cameras = list(cameras)
        if not cameras or not all(isinstance(c, Camera) for c in cameras):
            raise TypeError(f"CameraTensors.from_cameras: expected a non-empty sequence of Camera, got {cameras!r}")

        def stack(attr: str) -> Tensor:
            return torch.stack([torch.as_tensor(getattr(c, attr).copy(), dtype=dtype, device=device) for c in cameras])

        return cls(K=stack("K"), dist=stack("dist"), R=stack("R"), t=stack("t"))

    @property
    def batch_shape(self) -> torch.Size:
        return self.t.shape[:-1]

    def __len__(self) -> int:
        if not self.batch_shape:
            raise TypeError("len() of a single camera (CameraTensors without leading dims)")
        return self.batch_shape[0]

    def __getitem__(self, index) -> "CameraTensors":
        return CameraTensors(K=self.K[index], dist=self.dist[index], R=self.R[index], t=self.t[index])

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> "CameraTensors":
        """The same cameras with another dtype and/or device."""
        return CameraTensors(*(x.to(dtype=dtype, device=device) for x in (self.K, self.dist, self.R, self.t)))

    @property
    def centers(self) -> Tensor:
        """(*, 3) camera centres in world coordinates, metres: C = -R^T t."""
        return -(self.R.transpose(-1, -2) @ self.t.unsqueeze(-1)).squeeze(-1)

    def project(self, points_world: Tensor) -> Tensor:
        """`project_points` with these cameras: (*, N, 3) world points -> (*, N, 2) distorted pixels."""
        return project_points(points_world, self.K, self.dist, self.R, self.t)


CameraLike = CameraTensors | Camera | Sequence[Camera]


def as_camera_tensors(cameras: CameraLike, like: Tensor) -> CameraTensors:
    """`cameras` as CameraTensors with the dtype and device of `like` (one Camera -> no leading dims)."""
    if isinstance(cameras, CameraTensors):
        return cameras.to(dtype=like.dtype, device=like.device)
    if isinstance(cameras, Camera):
        return CameraTensors.from_cameras([cameras], dtype=like.dtype, device=like.device)[0]
    return CameraTensors.from_cameras(cameras, dtype=like.dtype, device=like.device)


# --- projection and distortion -------------------------------------------------------------------------


def world_to_camera(points_world: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """(*, N, 3) world points -> (*, N, 3) camera coordinates, metres (x_cam = R x_world + t).

    R: (*, 3, 3), t: (*, 3); leading dims broadcast, so (N, 3) points and V cameras give (V, N, 3).
    """
    fn = "world_to_camera"
    _check(fn, "points_world", points_world, "* N 3")
    _check(fn, "R", R, "* 3 3")
    _check(fn, "t", t, "* 3")
    _broadcast_batch(fn, {"points_world": (points_world, 2), "R": (R, 2), "t": (t, 1)})
    return points_world @ R.transpose(-1, -2) + t.unsqueeze(-2)


def apply_distortion(xy: Tensor, dist: Tensor) -> Tensor:
    """(*, N, 2) undistorted normalised coordinates -> (*, N, 2) distorted ones (OpenCV model, see module doc).

    dist: (*, 5) [k1, k2, p1, p2, k3], leading dims broadcast with those of `xy`.
    """
    fn = "apply_distortion"
    _check(fn, "xy", xy, "* N 2")
    _check(fn, "dist", dist, "* 5")
    _broadcast_batch(fn, {"xy": (xy, 2), "dist": (dist, 1)})
    k1, k2, p1, p2, k3 = dist.unsqueeze(-2).unbind(-1)  # each (*, 1)
    x, y = xy.unbind(-1)  # each (*, N)
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    x_d = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    y_d = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return torch.stack([x_d, y_d], dim=-1)


def remove_distortion(
    xy_distorted: Tensor, dist: Tensor, iterations: int = UNDISTORT_ITERATIONS, tolerance: float = 1e-13
) -> Tensor:
    """(*, N, 2) distorted normalised coordinates -> (*, N, 2) undistorted ones, the inverse of `apply_distortion`.

    The same fixed-point iteration as cv2.undistortPoints (which runs 5 iterations):
        x <- (x_d - delta_tangential(x)) / radial(x),  starting from x = x_d,
    including OpenCV's guard: where the radial factor turns non-positive the point falls back to x_d and
    stays there. Converges for moderate distortion; more iterations only get closer to the exact inverse.

    dist: (*, 5). iterations: at most this many steps (>= 0). tolerance: stop early once no coordinate moved
    by more than this in a step (normalised units; 1e-13 is ~1e-10 px); 0 runs all `iterations`.
    """
    fn = "remove_distortion"
    _check(fn, "xy_distorted", xy_distorted, "* N 2")
    _check(fn, "dist", dist, "* 5")
    _broadcast_batch(fn, {"xy_distorted": (xy_distorted, 2), "dist": (dist, 1)})
    if iterations < 0:
        raise ValueError(f"{fn}: argument 'iterations' expected >= 0, got {iterations}")
    k1, k2, p1, p2, k3 = dist.unsqueeze(-2).unbind(-1)  # each (*, 1)
    x0, y0 = xy_distorted.unbind(-1)
    x, y = x0, y0
    failed = torch.zeros_like(x0, dtype=torch.bool)
    for _ in range(iterations):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        failed = failed | (radial <= 0.0)
        inv_radial = 1.0 / torch.where(failed, torch.ones_like(radial), radial)  # safe where failed
        delta_x = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        delta_y = p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        x_next = torch.where(failed, x0, (x0 - delta_x) * inv_radial)
        y_next = torch.where(failed, y0, (y0 - delta_y) * inv_radial)
        step = torch.maximum((x_next - x).abs(), (y_next - y).abs())
        x, y = x_next, y_next
        if tolerance > 0 and not bool((step > tolerance).any()):  # NaN points do not hold it back
            break
    return torch.stack([x, y], dim=-1)


def normalized_to_pixels(xy: Tensor, K: Tensor) -> Tensor:
    """(*, N, 2) normalised (distorted or not) coordinates -> (*, N, 2) pixels: K @ (x, y, 1). K: (*, 3, 3)."""
    fn = "normalized_to_pixels"
    _check(fn, "xy", xy, "* N 2")
    _check(fn, "K", K, "* 3 3")
    _broadcast_batch(fn, {"xy": (xy, 2), "K": (K, 2)})
    return xy @ K[..., :2, :2].transpose(-1, -2) + K[..., :2, 2].unsqueeze(-2)


def pixels_to_normalized(pixels: Tensor, K: Tensor) -> Tensor:
    """(*, N, 2) pixels -> (*, N, 2) normalised coordinates: K^-1 @ (u, v, 1), skew included. K: (*, 3, 3)."""
    fn = "pixels_to_normalized"
    _check(fn, "pixels", pixels, "* N 2")
    _check(fn, "K", K, "* 3 3")
    _broadcast_batch(fn, {"pixels": (pixels, 2), "K": (K, 2)})
    fx, skew, cx = K[..., 0, 0:1], K[..., 0, 1:2], K[..., 0, 2:3]  # each (*, 1)
    fy, cy = K[..., 1, 1:2], K[..., 1, 2:3]
    y = (pixels[..., 1] - cy) / fy
    x = (pixels[..., 0] - cx - skew * y) / fx
    return torch.stack([x, y], dim=-1)


def distort_points(pixels: Tensor, K: Tensor, dist: Tensor) -> Tensor:
    """(*, N, 2) undistorted pixels -> (*, N, 2) distorted pixels (where a real lens would image them).

    K: (*, 3, 3), dist: (*, 5); leading dims broadcast.
    """
    fn = "distort_points"
    _check(fn, "pixels", pixels, "* N 2")
    _check(fn, "K", K, "* 3 3")
    _check(fn, "dist", dist, "* 5")
    _broadcast_batch(fn, {"pixels": (pixels, 2), "K": (K, 2), "dist": (dist, 1)})
    return normalized_to_pixels(apply_distortion(pixels_to_normalized(pixels, K), dist), K)


def undistort_points(
    pixels: Tensor,
    K: Tensor,
    dist: Tensor,
    iterations: int = UNDISTORT_ITERATIONS,
    output: Literal["pixels", "normalized"] = "pixels",
) -> Tensor:
    """(*, N, 2) distorted pixels -> (*, N, 2) undistorted pixels, or normalised coordinates.

    The inverse of `distort_points` by the fixed-point iteration of `remove_distortion`. With
    output="normalized" and iterations=5 this is cv2.undistortPoints(pixels, K, dist) (no R, no P).

    K: (*, 3, 3), dist: (*, 5); leading dims broadcast.
    output: "pixels" (K applied again, for epipolar geometry on undistorted images) or "normalized".
    """
    fn = "undistort_points"
    _check(fn, "pixels", pixels, "* N 2")
    _check(fn, "K", K, "* 3 3")
    _check(fn, "dist", dist, "* 5")
    _broadcast_batch(fn, {"pixels": (pixels, 2), "K": (K, 2), "dist": (dist, 1)})
    if output not in ("pixels", "normalized"):
        raise ValueError(f"{fn}: argument 'output' expected 'pixels' or 'normalized', got {output!r}")
    xy = remove_distortion(pixels_to_normalized(pixels, K), dist, iterations)
    return normalized_to_pixels(xy, K) if output == "pixels" else xy


def project_points_with_depth(
    points_world: Tensor, K: Tensor, dist: Tensor, R: Tensor, t: Tensor
) -> tuple[Tensor, Tensor]:
    """(*, N, 3) world points -> ((*, N, 2) distorted pixels, (*, N) depth z in the camera, metres).

    K: (*, 3, 3), dist: (*, 5), R: (*, 3, 3), t: (*, 3); leading dims broadcast, so (N, 3) points with
    V cameras give (V, N, 2). Points with depth <= 0 (behind the camera) get meaningless pixels: mask them.
    """
    return _project("project_points_with_depth", points_world, K, dist, R, t)


def project_points(points_world: Tensor, K: Tensor, dist: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """(*, N, 3) world points -> (*, N, 2) distorted pixels; see `project_points_with_depth` for shapes."""
    return _project("project_points", points_world, K, dist, R, t)[0]


def _project(fn: str, points_world: Tensor, K: Tensor, dist: Tensor, R: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    _check(fn, "points_world", points_world, "* N 3")
    _check(fn, "K", K, "* 3 3")
    _check(fn, "dist", dist, "* 5")
    _check(fn, "R", R, "* 3 3")
    _check(fn, "t", t, "* 3")
    _broadcast_batch(fn, {"points_world": (points_world, 2), "K": (K, 2), "dist": (dist, 1), "R": (R, 2), "t": (t, 1)})
    x_cam = world_to_camera(points_world, R, t)  # (*, N, 3)
    depth = x_cam[..., 2]
    xy = x_cam[..., :2] / depth.unsqueeze(-1)
    return normalized_to_pixels(apply_distortion(xy, dist), K), depth


# --- rays and triangulation ----------------------------------------------------------------------------


def backproject_rays(
    pixels: Tensor, cameras: CameraLike, iterations: int = UNDISTORT_ITERATIONS
) -> tuple[Tensor, Tensor]:
    """(*, N, 2) distorted pixels -> world rays: origins (*, N, 3) and unit directions (*, N, 3).

    The origins are the camera centres (metres), the directions point away from the camera through the pixel.

    `cameras` (CameraTensors of leading shape (*), a list of V Cameras, or one Camera) broadcast with the
    leading dims of `pixels`: (V, N, 2) pixels with V cameras give V x N rays. Pixels are undistorted first.
    """
    fn = "backproject_rays"
    _check(fn, "pixels", pixels, "* N 2")
    cams = as_camera_tensors(cameras, pixels)
    _broadcast_batch(fn, {"pixels": (pixels, 2), "cameras": (cams.t, 1)})
    return _rays(undistort_points(pixels, cams.K, cams.dist, iterations, output="normalized"), cams)


def _rays(xy: Tensor, cams: CameraTensors) -> tuple[Tensor, Tensor]:
    """(*, N, 2) normalised coordinates -> world ray origins and unit directions, each (*, N, 3)."""
    rays_cam = torch.cat([xy, torch.ones_like(xy[..., :1])], dim=-1)  # (*, N, 3)
    directions = torch.nn.functional.normalize(rays_cam @ cams.R, dim=-1)  # R^T d as row vectors
    origins = cams.centers.unsqueeze(-2).expand_as(directions)
    return origins, directions


def _midpoints(origins_a: Tensor, directions_a: Tensor, origins_b: Tensor, directions_b: Tensor) -> Tensor:
    """(*, 3) midpoints of the shortest segments between lines o + s d with unit directions; NaN/inf if parallel."""
    offset = origins_a - origins_b
    cos = (directions_a * directions_b).sum(-1)
    along_a, along_b = (directions_a * offset).sum(-1), (directions_b * offset).sum(-1)
    denominator = 1.0 - cos * cos
    s = (cos * along_b - along_a) / denominator
    u = (along_b - cos * along_a) / denominator
    return 0.5 * (origins_a + s.unsqueeze(-1) * directions_a + origins_b + u.unsqueeze(-1) * directions_b)


def _weights_or_ones(fn: str, weights: Tensor | None, pixels: Tensor, dims: dict) -> Tensor:
    if weights is None:
        return torch.ones(pixels.shape[:-1], dtype=pixels.dtype, device=pixels.device)
    _check(fn, "weights", weights, "V J", dims)
    if bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()):
        raise ValueError(f"{fn}: argument 'weights' expected finite values >= 0, got min {weights.min().item():g}")
    return weights


def _dlt(xy: Tensor, projections: Tensor, weights: Tensor) -> Tensor:
    """Weighted linear triangulation in normalised coordinates; pass float64 for accuracy (callers do).

    xy: (V, *, 2) undistorted normalised coordinates, projections: (V, *, 3, 4) [R | t] (broadcast with
    xy's dims), weights: (V, *). Returns (*, 3); NaN where fewer than 2 views have weight > 0.
    """
    used = weights > 0
    xy = torch.where(used.unsqueeze(-1), xy, torch.zeros_like(xy))  # unused views may hold NaN
    # Rows w (x P_3 - P_1), w (y P_3 - P_2) of A h = 0, h the homogeneous point.
    rows = xy.unsqueeze(-1) * projections[..., 2:3, :] - projections[..., 0:2, :]  # (V, *, 2, 4)
    rows = rows * weights[..., None, None]
    A = torch.movedim(rows, 0, -3)  # (*, V, 2, 4)
    A = A.reshape(*A.shape[:-3], -1, 4)  # (*, 2V, 4)
    valid = used.sum(0) >= 2  # (*,)
    if A.shape[-2] < 4:  # a single view: nothing can be triangulated
        return torch.full((*valid.shape, 3), float("nan"), dtype=weights.dtype, device=weights.device)
    # Replace the systems of points seen by < 2 views with a well-conditioned dummy, so that the SVD's
    # backward pass stays finite; their result is set to NaN below.
    dummy = torch.zeros_like(A)
    dummy[..., :4, :] = torch.diag(torch.tensor([4.0, 3.0, 2.0, 1.0], dtype=A.dtype, device=A.device))
    A = torch.where(valid[..., None, None], A, dummy)
    h = torch.linalg.svd(A, full_matrices=False).Vh[..., -1, :]  # (*, 4) null vector
    points = h[..., :3] / h[..., 3:4]
    return torch.where(valid.unsqueeze(-1), points, torch.full_like(points, float("nan")))


def triangulate_dlt(
    pixels: Tensor, cameras: CameraLike, weights: Tensor | None = None, iterations: int = UNDISTORT_ITERATIONS
) -> Tensor:
    """Confidence-weighted linear (DLT) triangulation of J points seen by V views -> (J, 3) world points, metres.

    pixels: (V, J, 2) distorted pixels (undistorted here first; NaN allowed where the weight is 0).
    cameras: V cameras (CameraTensors of leading shape (V,) or a list of Camera).
    weights: (V, J) confidences >= 0 (None: all 1); each view's two equations are scaled by its weight, and
        weight 0 means the view is not used. A point with fewer than 2 views of weight > 0 is NaN.
    Runs in float64 whatever the input dtype (undistortion, cameras, SVD); the result has the dtype of `pixels`.
    For many frames, fold time into J: (V, T, J, 2) -> (V, T * J, 2).
    """
    fn = "triangulate_dlt"
    dims: dict[str, tuple[int, str]] = {}
    _check(fn, "pixels", pixels, "V J 2", dims)
    weights = _weights_or_ones(fn, weights, pixels, dims)
    pixels64 = pixels.double()  # float64 throughout: undistortion, cameras and SVD
    cams = as_camera_tensors(cameras, pixels64)
    _check(fn, "cameras.t", cams.t, "V 3", dims)
    xy = undistort_points(pixels64, cams.K, cams.dist, iterations, output="normalized")  # (V, J, 2)
    projections = torch.cat([cams.R, cams.t.unsqueeze(-1)], dim=-1).unsqueeze(1)  # (V, 1, 3, 4)
    return _dlt(xy, projections, weights.double()).to(pixels.dtype)


def reprojection_error(points: Tensor, pixels: Tensor, cameras: CameraLike) -> Tensor:
    """(V, J) distance in pixels between the projections of points (J, 3) and the observed pixels (V, J, 2).

    Projection includes distortion. Points behind a camera get a meaningless (finite) error: check depth.
    NaN points or pixels give NaN.
    """
    fn = "reprojection_error"
    dims: dict[str, tuple[int, str]] = {}
    _check(fn, "points", points, "J 3", dims)
    _check(fn, "pixels", pixels, "V J 2", dims)
    cams = as_camera_tensors(cameras, pixels)
    _check(fn, "cameras.t", cams.t, "V 3", dims)
    return torch.linalg.vector_norm(cams.project(points) - pixels, dim=-1)


@dataclass(frozen=True)
class RobustTriangulation:
    """The result of `triangulate_robust`.

    points: (J, 3) world points, metres; NaN where fewer than `min_views` views agree.
    inliers: (V, J) bool, True where view v was used for point j (all False for NaN points).
    errors: (V, J) reprojection error of the final point in every view with weight > 0, pixels (outliers
        included, so they can be reported); NaN for views of weight 0 and for NaN points.
    """

    points: Tensor
    inliers: Tensor
    errors: Tensor


def triangulate_robust(
    pixels: Tensor,
    cameras: CameraLike,
    weights: Tensor | None = None,
    threshold_px: float = 10.0,
    min_views: int = 2,
    refits: int = 2,
) -> RobustTriangulation:
    """Triangulation that ignores views whose reprojection error exceeds `threshold_px` -> RobustTriangulation.

    Per point, every pair of views with weight > 0 gives a hypothesis, the midpoint of the shortest segment
    between their two rays (exhaustive, deterministic RANSAC). The hypothesis with the lowest truncated cost
    sum_v min(error_v, threshold_px), counting views where the point is behind the camera as outliers, wins.
    Its inliers are refitted by the weighted DLT of `triangulate_dlt` and recomputed, `refits` times; the
    final point is the weighted DLT of the last inliers.
    Cost grows as V^3 J (V (V - 1) / 2 hypotheses, each scored in V views): meant for rigs of up to ~30 views.

    pixels: (V, J, 2) distorted pixels; cameras: V cameras; weights: (V, J) confidences >= 0 (None: all 1).
    threshold_px: inlier threshold on the reprojection error, pixels. min_views: >= 2.
    Differentiable w.r.t. pixels and weights for a fixed inlier set (the final step is `triangulate_dlt`).
    """
    fn = "triangulate_robust"
    dims: dict[str, tuple[int, str]] = {}
    _check(fn, "pixels", pixels, "V J 2", dims)
    weights = _weights_or_ones(fn, weights, pixels, dims).double()
    dtype, pixels = pixels.dtype, pixels.double()  # float64 throughout, as in triangulate_dlt
    cams = as_camera_tensors(cameras, pixels)
    _check(fn, "cameras.t", cams.t, "V 3", dims)
    if min_views < 2:
        raise ValueError(f"{fn}: argument 'min_views' expected >= 2, got {min_views}")
    if not threshold_px > 0:
        raise ValueError(f"{fn}: argument 'threshold_px' expected > 0, got {threshold_px}")
    V, J = weights.shape
    used = weights > 0
    safe_pixels = torch.where(used.unsqueeze(-1), pixels, torch.zeros_like(pixels))
    xy = undistort_points(safe_pixels, cams.K, cams.dist, output="normalized")  # (V, J, 2)
    projections = torch.cat([cams.R, cams.t.unsqueeze(-1)], dim=-1).unsqueeze(1)  # (V, 1, 3, 4)

    def errors_of(points: Tensor) -> Tensor:
        """(*, J, 3) points -> (*, V, J) reprojection errors, inf for unused views and behind the camera."""
        uv, depth = project_points_with_depth(points.unsqueeze(-3), cams.K, cams.dist, cams.R, cams.t)
        error = torch.linalg.vector_norm(uv - safe_pixels, dim=-1)
        ok = used & (depth > 0) & torch.isfinite(error)
        return torch.where(ok, error, torch.full_like(error, float("inf")))

    with torch.no_grad():
        # Hypotheses: the midpoint of the two rays of every pair of views (closed form, cheaper than a DLT).
        origins, directions = _rays(xy.detach(), cams)  # (V, J, 3) each
        a, b = torch.combinations(torch.arange(V, device=pixels.device), r=2).T  # (P,) each
        hypotheses = _midpoints(origins[a], directions[a], origins[b], directions[b])  # (P, J, 3)
        error = errors_of(hypotheses)  # (P, V, J)
        cost = error.clamp(max=threshold_px).sum(dim=1)  # (P, J)
        usable = used[a] & used[b] & torch.isfinite(hypotheses).all(-1)
        cost = torch.where(usable, cost, torch.full_like(cost, float("inf")))
        if a.numel() > 0:
            best = cost.argmin(dim=0)  # (J,)
            inliers = error.gather(0, best.view(1, 1, J).expand(1, V, J))[0] < threshold_px  # (V, J)
        else:
            inliers = torch.zeros_like(used)
        for _ in range(refits):
            inliers = errors_of(_dlt(xy.detach(), projections, weights * inliers)) < threshold_px

    enough = inliers.sum(0) >= min_views  # (J,)
    inliers = inliers & enough
    points = _dlt(xy, projections, weights * inliers)  # NaN where not enough
    errors = reprojection_error(points, safe_pixels, cams)
    errors = torch.where(used, errors, torch.full_like(errors, float("nan")))
    return RobustTriangulation(points=points.to(dtype), inliers=inliers, errors=errors.to(dtype))


# --- two-view geometry ---------------------------------------------------------------------------------


def _skew(v: Tensor) -> Tensor:
    """(*, 3) -> (*, 3, 3) cross-product matrix [v]_x."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*v.shape[:-1], 3, 3)


def fundamental_matrix(cam_a: CameraTensors | Camera, cam_b: CameraTensors | Camera) -> Tensor:
    """(*, 3, 3) fundamental matrix F with x_b^T F x_a = 0 for homogeneous undistorted pixels x_a, x_b.

    F = K_b^-T [t]_x R K_a^-1 with the relative pose R = R_b R_a^T, t = t_b - R t_a. CameraTensors
    broadcast (e.g. cams[:, None] and cams[None] give all pairs); two Cameras give (3, 3) float64.
    Distortion is ignored: F relates undistorted pixels (`undistort_points(..., output="pixels")`).
    """
    fn = "fundamental_matrix"
    if isinstance(cam_a, Camera):
        like = cam_b.t if isinstance(cam_b, CameraTensors) else torch.empty(0, dtype=torch.float64)
        cam_a = as_camera_tensors(cam_a, like)
    if not isinstance(cam_a, CameraTensors):
        raise ShapeError(f"{fn}: argument 'cam_a' expected CameraTensors or Camera, got {type(cam_a).__name__}")
    if not isinstance(cam_b, (CameraTensors, Camera)):
        raise ShapeError(f"{fn}: argument 'cam_b' expected CameraTensors or Camera, got {type(cam_b).__name__}")
    cam_b = as_camera_tensors(cam_b, cam_a.t)
    _broadcast_batch(fn, {"cam_a": (cam_a.t, 1), "cam_b": (cam_b.t, 1)})
    R = cam_b.R @ cam_a.R.transpose(-1, -2)
    t = cam_b.t - (R @ cam_a.t.unsqueeze(-1)).squeeze(-1)
    essential = _skew(t) @ R
    return torch.linalg.inv(cam_b.K).transpose(-1, -2) @ essential @ torch.linalg.inv(cam_a.K)


def epipolar_distance(pixels_a: Tensor, pixels_b: Tensor, F: Tensor) -> Tensor:
    """(*) symmetric epipolar distance in pixels between pixels_a (*, 2) in view a and pixels_b (*, 2) in view b.

    The mean of the distance of x_b to the epipolar line F x_a and of x_a to the line F^T x_b.
    F: (*, 3, 3) from `fundamental_matrix`; all leading dims broadcast (pixels_a[:, None] with
    pixels_b[None] gives every pair). Pixels must be undistorted (`undistort_points(..., output="pixels")`);
    with distorted pixels the distance is off by roughly the distortion's displacement.
    """
    fn = "epipolar_distance"
    _check(fn, "pixels_a", pixels_a, "* 2")
    _check(fn, "pixels_b", pixels_b, "* 2")
    _check(fn, "F", F, "* 3 3")
    _broadcast_batch(fn, {"pixels_a": (pixels_a, 1), "pixels_b": (pixels_b, 1), "F": (F, 2)})
    x_a = torch.cat([pixels_a, torch.ones_like(pixels_a[..., :1])], dim=-1)
    x_b = torch.cat([pixels_b, torch.ones_like(pixels_b[..., :1])], dim=-1)
    line_b = (F @ x_a.unsqueeze(-1)).squeeze(-1)  # (*, 3) epipolar line in view b
    line_a = (F.transpose(-1, -2) @ x_b.unsqueeze(-1)).squeeze(-1)  # (*, 3) epipolar line in view a
    algebraic = (x_b * line_b).sum(-1).abs()
    return 0.5 * (
        algebraic / torch.linalg.vector_norm(line_b[..., :2], dim=-1)
        + algebraic / torch.linalg.vector_norm(line_a[..., :2], dim=-1)
    )


def ray_distance(origins_a: Tensor, directions_a: Tensor, origins_b: Tensor, directions_b: Tensor) -> Tensor:
    """(*) shortest distance in metres between the 3D lines o_a + s d_a and o_b + u d_b (all (*, 3), broadcast).

    Lines, not half-rays: the closest points may lie behind a camera. Directions need not be unit;
    (nearly) parallel lines fall back to the point-to-line distance.
    """
    fn = "ray_distance"
    for name, x in (("origins_a", origins_a), ("directions_a", directions_a), ("origins_b", origins_b),
                    ("directions_b", directions_b)):
        _check(fn, name, x, "* 3")
    _broadcast_batch(fn, {"origins_a": (origins_a, 1), "directions_a": (directions_a, 1),
                          "origins_b": (origins_b, 1), "directions_b": (directions_b, 1)})
    offset = origins_b - origins_a
    normal = torch.linalg.cross(*torch.broadcast_tensors(directions_a, directions_b), dim=-1)
    normal_norm = torch.linalg.vector_norm(normal, dim=-1)
    norm_a = torch.linalg.vector_norm(directions_a, dim=-1)
    norm_b = torch.linalg.vector_norm(directions_b, dim=-1)
    skew_lines = normal_norm > 1e-9 * norm_a * norm_b  # sin(angle) > 1e-9
    safe_normal_norm = torch.where(skew_lines, normal_norm, torch.ones_like(normal_norm))
    skew_distance = (offset * normal).sum(-1).abs() / safe_normal_norm
    parallel_distance = torch.linalg.vector_norm(
        torch.linalg.cross(*torch.broadcast_tensors(offset, directions_a), dim=-1), dim=-1
    ) / norm_a
    return torch.where(skew_lines, skew_distance, parallel_distance)
