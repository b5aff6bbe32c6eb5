"""Synthetic board captures for the calibration tests and benchmark: a ring rig filming a board held at many poses.

The board is rendered with the project's rasterizer (`render`): a mesh of flat-coloured quads (every quad has its
own 4 vertices, no quad larger than one square) drawn with the cameras' full distortion, supersampled S x S and
box-filtered to the camera's resolution, then lightly blurred with 8-bit noise, like a sharp real camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from calibration.board import Board
from calibration.camera import Camera, look_at_rotation
from calibration.extrinsics import to_matrix
from calibration.rig import Rig
from calibration.ring_rig import ring_rig
from render import Mesh, RenderSettings, render

DARK, LIGHT = 0.08, 0.92
"""Albedo of the black and white parts of the printed board."""


def board_raster(board: Board, pixels_per_square: int) -> tuple[np.ndarray, float, np.ndarray]:
    """The printed board as an (H, W) uint8 image with a one-square white margin.

    Returns (image, metres per pixel, (2,) board-frame xy of the image's top-left pixel corner, metres).
    """
    if board.kind == "checkerboard":
        squares = (board.cols + 1, board.rows + 1)
        grid = (np.add.outer(np.arange(squares[1]), np.arange(squares[0])) % 2 == 1).astype(np.uint8) * 255
        printed = np.kron(grid, np.ones((pixels_per_square, pixels_per_square), np.uint8))
        first_square = -board.square  # inner corner 0 sits one square in from the board's edge
    else:
        size = (board.cols * pixels_per_square, board.rows * pixels_per_square)
        printed = board.charuco_board().generateImage(size, marginSize=0, borderBits=1)
        first_square = 0.0  # OpenCV's ChArUco frame starts at the board's corner
    margin = pixels_per_square
    image = np.pad(printed, margin, constant_values=255)
    metres = board.square / pixels_per_square
    return image, metres, np.array([first_square - margin * metres] * 2)


def board_mesh(board: Board, T_world_board: np.ndarray, pixels_per_square: int = 1) -> Mesh:
    """The board as quads (runs of equal raster pixels along rows, each at most one square long), posed in the world.

    The printed side faces the board's -z (towards cameras that see it); its back is not drawn with back-face
    culling on.
    """
    image, metres, origin = board_raster(board, pixels_per_square)
    vertices, colors = [], []
    for row in range(image.shape[0]):
        values = image[row]
        starts = np.flatnonzero(np.diff(values.astype(int), prepend=-1) != 0)
        ends = np.append(starts[1:], len(values))
        for start, end in zip(starts, ends):
            for piece in range(start, end, pixels_per_square):
                x0, x1 = origin[0] + piece * metres, origin[0] + min(piece + pixels_per_square, end) * metres
                y0, y1 = origin[1] + row * metres, origin[1] + (row + 1) * metres
                vertices += [(x0, y0, 0.0), (x1, y0, 0.0), (x1, y1, 0.0), (x0, y1, 0.0)]
                colors += [LIGHT if values[start] > 127 else DARK] * 4
    vertices = np.asarray(vertices)
    quads = np.arange(len(vertices)).reshape(-1, 4)
    # counter-clockwise seen from -z (the printed side): (0, 3, 2), (0, 2, 1) in board x-right, y-down terms
    faces = np.concatenate([quads[:, [0, 2, 1]], quads[:, [0, 3, 2]]])
    world = vertices @ T_world_board[:3, :3].T + T_world_board[:3, 3]
    return Mesh(world, faces, colors=np.repeat(np.asarray(colors)[:, None], 3, axis=1))


def _supersampled(camera: Camera, factor: int) -> Camera:
    """The camera at `factor` x the resolution, each of its pixels covering factor x factor of the new ones."""
    K = camera.K.copy()
    K[:2, :2] *= factor
    K[:2, 2] = factor * (K[:2, 2] + 0.5) - 0.5
    return camera.replace(width=camera.width * factor, height=camera.height * factor, K=K)


def render_board(
    board: Board, T_world_board: np.ndarray, cameras: list[Camera], supersample: int = 3, noise: float = 1.0, seed: int = 0
) -> list[np.ndarray | None]:
    """(H, W) uint8 images of the board in each camera; None where the board is not fully in view (front side)."""
    mesh = board_mesh(board, T_world_board, 1 if board.kind == "checkerboard" else 24)
    settings = RenderSettings(ambient=1.0, background=(0.45, 0.45, 0.45), cull_backfaces=True)
    rng = np.random.default_rng(seed)
    images = []
    corners = board.object_points @ T_world_board[:3, :3].T + T_world_board[:3, 3]
    for camera in cameras:
        normal_towards_camera = (camera.center - T_world_board[:3, 3]) @ -T_world_board[:3, 2] > 0
        if not normal_towards_camera or not camera.sees(corners, margin_px=8.0).all():
            images.append(None)
            continue
        big = _supersampled(camera, supersample)
        rgb = render([mesh], [big], settings).rgb[0, :, :, 0]
        small = rgb.reshape(camera.height, supersample, camera.width, supersample).mean(axis=(1, 3))
        small = cv2.GaussianBlur(small, (0, 0), 0.6)
        images.append(np.clip(small * 255.0 + rng.normal(0.0, noise, small.shape), 0, 255).astype(np.uint8))
    return images


@dataclass(frozen=True)
class BoardCapture:
    """A synthetic capture: the true rig, the true board poses and what each camera saw.

    Attributes:
        rig: true cameras.
        poses: frame key -> (4, 4) true T_world_board.
        images: camera -> frame key -> (H, W) uint8 image (only where the whole board is in view).
    """

    rig: Rig
    poses: dict[str, np.ndarray]
    images: dict[str, dict[str, np.ndarray]]


def board_poses_for_ring(num_poses: int, num_cameras: int, seed: int = 0) -> list[np.ndarray]:
    """(4, 4) T_world_board poses around the ring's centre (0, 0, 1.3): pose i faces the gap between cameras
    i % V and i % V + 1 (so each is seen by about two cameras), tilted by up to ~30 degrees more (mostly up/down), rolled, and
    shifted up to 0.3 m sideways so it lands on different parts of the images."""
    rng = np.random.default_rng(seed)
    step = 2.0 * math.pi / num_cameras
    poses = []
    for index in range(num_poses):
        facing = step * (index % num_cameras + 0.5) + rng.uniform(-0.1, 0.1)
        toward = np.array([math.cos(facing), math.sin(facing), 0.0])
        side = np.array([-toward[1], toward[0], 0.0])
        center = np.array([0.0, 0.0, 1.3]) + side * rng.uniform(-0.3, 0.3) + np.array([0, 0, rng.uniform(-0.25, 0.25)])
        look_from = center + toward + side * rng.uniform(-0.25, 0.25) + np.array([0.0, 0.0, rng.uniform(-0.6, 0.6)])
        R_cam_like = look_at_rotation(look_from, center)  # rows: board x, board y, board z (into the board)
        roll = rng.uniform(-0.5, 0.5)
        R_roll = np.array([[math.cos(roll), -math.sin(roll), 0.0], [math.sin(roll), math.cos(roll), 0.0], [0, 0, 1.0]])
        poses.append(to_matrix(R_cam_like.T @ R_roll, center))  # board -> world
    return poses


def make_board_capture(
    board: Board,
    num_cameras: int = 4,
    num_poses: int = 8,
    image_size: tuple[int, int] = (640, 480),
    radius: float = 1.5,
    supersample: int = 3,
    seed: int = 0,
) -> BoardCapture:
    """A jittered ring rig with realistic distortion filming `num_poses` board poses (see module docstring)."""
    rig = ring_rig(
        num_cameras, radius=radius, height=1.5, target=(0.0, 0.0, 1.3), image_size=image_size, fov_deg=60.0,
        distortion=(-0.12, 0.05, 0.0008, -0.0005, 0.0), jitter=0.3, seed=seed,
    )  # fmt: skip
    poses = {}
    images: dict[str, dict[str, np.ndarray]] = {camera.name: {} for camera in rig}
    for index, T in enumerate(board_poses_for_ring(num_poses, num_cameras, seed)):
        key = f"{index:06d}"
        poses[key] = T
        centered = T.copy()
        centered[:3, 3] -= T[:3, :3] @ (board.object_points.mean(axis=0))  # hold the board by its middle
        poses[key] = centered
        for camera, image in zip(rig, render_board(board, centered, list(rig), supersample, seed=seed + index)):
            if image is not None:
                images[camera.name][key] = image
    return BoardCapture(rig, poses, images)
