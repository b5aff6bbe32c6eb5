"""Open3D viewer of a run: the scene meshes (vertex colours) and the camera frusta, frame by frame.

    capture view RUN [--frame F] [--screenshot out.png]

Interactive (a display is available and no --screenshot): a window with the frame's meshes and the rig's
frusta; keys N / P step to the next / previous frame, SPACE plays the sequence. Headless (--screenshot, or no
display): Open3D's OffscreenRenderer draws one frame to a PNG. The frame's meshes and the frusta (thin boxes
along the frustum edges) are merged into ONE triangle mesh with vertex colours first: a scene with several
geometries hung render_to_image on this machine's software renderer. Both frame the people, not the frusta,
with 'up' from the fitted bodies or the cameras (:func:`frame_view_of_run`), so any world convention shows them
upright.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from calibration.camera import Camera
from calibration.run_layout import RunLayout
from render.mesh import Mesh

if TYPE_CHECKING:
    from body.capture_io import BodyPerson

logger = logging.getLogger(__name__)

FIELD_OF_VIEW_DEG = 50.0
"""Vertical field of view of the screenshot camera."""
ELEVATION = 0.45
"""The viewpoint rises this much (x the horizontal distance) above the people's centre."""
FRUSTUM_COLOR = (0.15, 0.15, 0.15)
FRUSTUM_DEPTH_M = 0.4
"""Distance of the drawn image plane in front of each camera, metres."""


class ViewerError(ValueError):
    """A run folder or frame that cannot be shown; the message names it."""


def scene_frames(run_dir: Path) -> list[int]:
    """Frames with a scene mesh RUN/scene/<frame:06d>.ply."""
    folder = RunLayout(run_dir).scene_file(0).parent
    return sorted(int(p.stem) for p in folder.glob("*.ply") if p.stem.isdigit()) if folder.is_dir() else []


def frustum_corners(camera: Camera, depth: float = FRUSTUM_DEPTH_M) -> np.ndarray:
    """(5, 3) world points: the camera centre and the image corners at `depth` metres (distortion ignored)."""
    corners = np.array([[0, 0], [camera.width - 1, 0], [camera.width - 1, camera.height - 1], [0, camera.height - 1]], float)
    rays = np.linalg.solve(camera.K, np.c_[corners, np.ones(4)].T).T * depth  # camera frame, z = depth
    return np.vstack([camera.center, (rays - camera.t) @ camera.R])  # x_world = R^T (x_cam - t)


def frustum_mesh(cameras: list[Camera], radius: float = 0.008) -> Mesh:
    """The frusta's 8 edges per camera as thin square tubes, one Mesh (FRUSTUM_COLOR)."""
    edges = [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (2, 3), (3, 4), (4, 1)]
    vertices, faces = [], []
    box = np.array([[0, 1, 2], [0, 2, 3], [4, 6, 5], [4, 7, 6], [0, 4, 5], [0, 5, 1], [1, 5, 6], [1, 6, 2],
                    [2, 6, 7], [2, 7, 3], [3, 7, 4], [3, 4, 0]])  # fmt: skip
    for camera in cameras:
        points = frustum_corners(camera)
        for a, b in edges:
            axis = points[b] - points[a]
            helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 * np.linalg.norm(axis) else np.array([1.0, 0, 0])
            u = np.cross(axis, helper)
            u *= radius / np.linalg.norm(u)
            w = np.cross(axis, u)
            w *= radius / np.linalg.norm(w)
            ring = np.array([u + w, u - w, -u - w, -u + w])
            faces.append(box + sum(len(v) for v in vertices))
            vertices.append(np.vstack([points[a] + ring, points[b] + ring]))
    vertices = np.vstack(vertices)
    return Mesh(vertices, np.vstack(faces), colors=np.tile(FRUSTUM_COLOR, (len(vertices), 1)))


def merge(meshes: list[Mesh]) -> Mesh:
    """One mesh holding all `meshes` (vertex colours kept, DEFAULT_COLOR where a mesh has none)."""
    offsets = np.cumsum([0] + [m.num_vertices for m in meshes[:-1]])
    return Mesh(np.vstack([m.vertices for m in meshes]), np.vstack([m.faces + o for m, o in zip(meshes, offsets)]),
                colors=np.vstack([m.vertex_colors() for m in meshes]))  # fmt: skip


def _to_open3d(mesh: Mesh):
    import open3d as o3d

    # Open3D wants writeable, contiguous arrays; Mesh's are read-only
    result = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(np.array(mesh.vertices, np.float64)),
                                       o3d.utility.Vector3iVector(np.array(mesh.faces, np.int32)))
    result.vertex_colors = o3d.utility.Vector3dVector(np.array(mesh.vertex_colors(), np.float64))
    result.compute_vertex_normals()
    return result


def scene_mesh(run_dir: Path, frame: int) -> Mesh:
    """The frame's scene mesh RUN/scene/<frame:06d>.ply (the people); ViewerError naming the file if missing."""
    from render import load_mesh

    path = RunLayout(run_dir).scene_file(frame)
    if not path.is_file():
        frames = scene_frames(run_dir)
        raise ViewerError(f"{path}: no scene mesh for frame {frame}; frames with one: "
                          f"{frames[:10]}{' ...' if len(frames) > 10 else ''}")  # fmt: skip
    return load_mesh(path)


def frame_geometry(run_dir: Path, frame: int, cameras: list[Camera] | None) -> Mesh:
    """The frame's scene mesh merged with the frusta (when cameras are given)."""
    mesh = scene_mesh(run_dir, frame)
    return merge([mesh, frustum_mesh(cameras)]) if cameras else mesh


@dataclass(frozen=True)
class View:
    """A viewpoint: the camera at `eye` looks at `centre` with `up` pointing up in the image (world metres)."""

    centre: np.ndarray
    eye: np.ndarray
    up: np.ndarray


def _unit(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return vector / norm if np.isfinite(norm) and norm > 1e-9 else None


def up_from_bodies(people: list[BodyPerson]) -> np.ndarray | None:
    """(3,) unit world 'up': the mean hips -> shoulders direction of `people` (a standing person's trunk), None
    without any person whose four joints are known. Any world convention works (z-up, y-down, ...)."""
    from body.keypoint_layouts import get_layout

    directions = []
    for person in people:
        names = list(get_layout(person.layout).keypoints)
        try:
            joints = [names.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
        except ValueError:
            continue
        points = np.asarray(person.keypoints, np.float64)[joints]
        if np.all(np.isfinite(points)) and np.all(np.abs(points).sum(1) > 0):  # all-zero: a joint never placed
            direction = _unit(points[:2].mean(0) - points[2:].mean(0))
            if direction is not None:
                directions.append(direction)
    return _unit(np.mean(directions, axis=0)) if directions else None


def up_from_cameras(cameras: list[Camera]) -> np.ndarray | None:
    """(3,) unit world 'up': the cameras' mean image-up direction (OpenCV camera -y, i.e. -R[1] in the world),
    None without cameras or when they cancel out."""
    if not cameras:
        return None
    return _unit(np.mean([-np.asarray(camera.R, np.float64)[1] for camera in cameras], axis=0))


def frame_view(low: np.ndarray, high: np.ndarray, up: np.ndarray, toward: np.ndarray | None = None,
               fov_deg: float = FIELD_OF_VIEW_DEG) -> View:  # fmt: skip
    """A view of the box `low`..`high` (3,) whose bounding sphere fills the vertical field of view `fov_deg`,
    from the side (horizontal to `up`, raised by ELEVATION), from the side where the point `toward` (3,) lies
    (e.g. a camera) when given, else along the world axis most horizontal to `up`."""
    up = _unit(np.asarray(up, np.float64))
    if up is None:
        raise ViewerError("frame_view: argument 'up': expected a non-zero vector")
    centre = 0.5 * (np.asarray(low, np.float64) + np.asarray(high, np.float64))
    radius = max(0.5 * float(np.linalg.norm(np.asarray(high) - np.asarray(low))), 1e-3)
    side = None
    if toward is not None:
        offset = np.asarray(toward, np.float64) - centre
        side = _unit(offset - offset.dot(up) * up)
    if side is None:
        axis = np.eye(3)[int(np.argmin(np.abs(up)))]
        side = _unit(axis - axis.dot(up) * up)
    direction = _unit(side + ELEVATION * up)
    distance = radius / np.sin(np.radians(fov_deg) / 2)
    return View(centre, centre + distance * direction, up)


def frame_view_of_run(run_dir: Path, frame: int, people_mesh: Mesh, cameras: list[Camera] | None) -> View:
    """The view of `frame` framing the people (`people_mesh`, without the frusta), 'up' from the frame's fitted
    bodies (RUN/body/), else from the cameras, else +z; seen from the side of the first camera."""
    from body.capture_io import read_body_frame
    from body.errors import BodyModelError

    up = None
    path = RunLayout(run_dir).body_file(frame)
    if path.is_file():
        try:
            up = up_from_bodies(read_body_frame(path)[1])
        except BodyModelError as error:
            logger.warning("view: 'up' not taken from the bodies (%s)", error)
    if up is None:
        up = up_from_cameras(cameras or [])
    if up is None:
        up = np.array([0.0, 0.0, 1.0])
    toward = cameras[0].center if cameras else None
    return frame_view(people_mesh.vertices.min(0), people_mesh.vertices.max(0), up, toward)


def screenshot(mesh: Mesh, path: Path, size: tuple[int, int] = (960, 720), view: View | None = None) -> Path:
    """Render `mesh` offscreen (Open3D OffscreenRenderer, lit, white background) to the PNG `path`, seen from
    `view` (default: framing all of `mesh`, z up)."""
    import open3d as o3d

    if view is None:
        view = frame_view(mesh.vertices.min(0), mesh.vertices.max(0), np.array([0.0, 0.0, 1.0]))
    renderer = o3d.visualization.rendering.OffscreenRenderer(*size)
    material = o3d.visualization.rendering.MaterialRecord()
    material.shader = "defaultLit"
    renderer.scene.set_background([1.0, 1.0, 1.0, 1.0])
    renderer.scene.add_geometry("run", _to_open3d(mesh), material)
    renderer.setup_camera(FIELD_OF_VIEW_DEG, view.centre, view.eye, view.up)
    image = renderer.render_to_image()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not o3d.io.write_image(str(path), image):
        raise ViewerError(f"{path}: Open3D could not write the screenshot")
    return path


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def interactive(run_dir: Path, frames: list[int], start: int, cameras: list[Camera] | None, view: View) -> None:
    """A window showing one frame at a time, first seen from `view`; N / P next / previous frame, SPACE play / pause."""
    import open3d as o3d

    state = {"index": frames.index(start), "playing": False}
    vis = o3d.visualization.VisualizerWithKeyCallback()
    vis.create_window(window_name=f"capture view {run_dir}")
    merged = frame_geometry(run_dir, start, cameras)
    geometry = _to_open3d(merged)
    vis.add_geometry(geometry)
    control = vis.get_view_control()
    control.set_lookat(view.centre)
    control.set_front(_unit(view.eye - view.centre))
    control.set_up(view.up)
    # Open3D's zoom scales the view of the whole geometry's box (frusta included): the people's share of it
    radius = np.linalg.norm(view.eye - view.centre) * np.sin(np.radians(FIELD_OF_VIEW_DEG) / 2)
    whole = np.linalg.norm(np.ptp(merged.vertices, axis=0))
    control.set_zoom(float(np.clip(2 * radius / max(whole, 1e-6), 0.05, 1.0)))

    def show(index: int) -> bool:
        state["index"] = index % len(frames)
        fresh = _to_open3d(frame_geometry(run_dir, frames[state["index"]], cameras))
        geometry.vertices, geometry.triangles = fresh.vertices, fresh.triangles
        geometry.vertex_colors, geometry.vertex_normals = fresh.vertex_colors, fresh.vertex_normals
        vis.update_geometry(geometry)
        logger.info("frame %d", frames[state["index"]])
        return True

    def toggle(_) -> bool:
        state["playing"] = not state["playing"]
        return False

    def animate(_) -> bool:
        return show(state["index"] + 1) if state["playing"] else False

    vis.register_key_callback(ord("N"), lambda _: show(state["index"] + 1))
    vis.register_key_callback(ord("P"), lambda _: show(state["index"] - 1))
    vis.register_key_callback(ord(" "), toggle)
    vis.register_animation_callback(animate)
    vis.run()
    vis.destroy_window()
