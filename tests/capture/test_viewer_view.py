"""The viewer's viewpoint: 'up' from the fitted bodies or the cameras, framing of the people (not the frusta), in
a z-up world and in a y-down one such as CMU Panoptic's."""

from __future__ import annotations

import numpy as np
import pytest

from body.capture_io import BodyPerson, write_body_frame
from body.keypoint_layouts import get_layout
from calibration.camera import Camera, look_at_rotation
from capture.viewer import (ELEVATION, FIELD_OF_VIEW_DEG, ViewerError, frame_geometry, frame_view, frame_view_of_run,
                            scene_mesh, screenshot, up_from_bodies, up_from_cameras)  # fmt: skip
from render import save_mesh
from render.primitives import icosphere

Z_UP, Y_DOWN = np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0])


def ring(up: np.ndarray, centre: np.ndarray, radius: float = 4.0, views: int = 4) -> list[Camera]:
    """Cameras on a circle around `centre` (horizontal to `up`), 1 m above it, looking at it, image-up = `up`."""
    side_a = np.cross(up, [1.0, 0, 0] if abs(up[0]) < 0.9 else [0, 1.0, 0])
    side_a /= np.linalg.norm(side_a)
    side_b = np.cross(up, side_a)
    cameras = []
    for k in range(views):
        angle = 2 * np.pi * k / views
        position = centre + radius * (np.cos(angle) * side_a + np.sin(angle) * side_b) + 1.0 * up
        R = look_at_rotation(position, centre, up=up)
        K = np.array([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]])
        cameras.append(Camera(f"cam{k}", 320, 240, K, np.zeros(5), R, -R @ position))
    return cameras


def standing_person(up: np.ndarray, feet: np.ndarray, person_id: int = 0) -> BodyPerson:
    """body25 keypoints of a person standing at `feet`: hips 0.9 m and shoulders 1.4 m along `up`, 0.3 m apart."""
    names = list(get_layout("body25").keypoints)
    across = np.cross(up, [1.0, 0, 0] if abs(up[0]) < 0.9 else [0, 1.0, 0])
    keypoints = np.zeros((len(names), 3))
    for name, height, sign in [("left_hip", 0.9, 1), ("right_hip", 0.9, -1), ("left_shoulder", 1.4, 1),
                               ("right_shoulder", 1.4, -1)]:  # fmt: skip
        keypoints[names.index(name)] = feet + height * up + sign * 0.15 * across
    return BodyPerson(id=person_id, layout="body25", keypoints=keypoints, confidence=(keypoints != 0).any(1) * 1.0)


@pytest.mark.parametrize("up", [Z_UP, Y_DOWN], ids=["z-up", "y-down"])
def test_up_comes_from_the_cameras_and_from_the_bodies_in_any_world(up):
    centre = np.array([0.5, -0.2, 0.3])
    assert np.allclose(up_from_cameras(ring(up, centre)), up, atol=1e-9)
    assert np.allclose(up_from_bodies([standing_person(up, centre), standing_person(up, centre + 1.0, 1)]), up)


def test_up_is_unknown_without_cameras_or_placed_joints():
    assert up_from_cameras([]) is None
    nobody = BodyPerson(id=0, layout="body25", keypoints=np.zeros((25, 3)), confidence=np.zeros(25))
    assert up_from_bodies([nobody]) is None and up_from_bodies([]) is None


@pytest.mark.parametrize("up", [Z_UP, Y_DOWN], ids=["z-up", "y-down"])
def test_the_view_frames_the_box_from_the_side_of_a_camera_with_up_as_given(up):
    low, high = np.array([1.0, -2.0, 0.5]), np.array([1.6, -0.2, 0.9])
    camera_position = 0.5 * (low + high) + 5.0 * np.cross(up, [1.0, 0, 0] if abs(up[0]) < 0.9 else [0, 1.0, 0])
    view = frame_view(low, high, up, toward=camera_position)
    look = view.centre - view.eye
    assert np.allclose(view.centre, 0.5 * (low + high)) and np.allclose(view.up, up)
    # raised by ELEVATION above the centre, on the camera's side
    assert np.isclose(-look.dot(up) / np.linalg.norm(look), ELEVATION / np.hypot(1.0, ELEVATION))
    assert (view.eye - view.centre).dot(camera_position - view.centre) > 0
    # every corner of the box inside the field of view, the bounding sphere touching its edge
    corners = np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])])
    rays = corners - view.eye
    angles = np.degrees(np.arccos(rays @ look / np.linalg.norm(rays, axis=1) / np.linalg.norm(look)))
    assert angles.max() < FIELD_OF_VIEW_DEG / 2
    radius = 0.5 * np.linalg.norm(high - low)
    assert np.isclose(np.degrees(np.arcsin(radius / np.linalg.norm(look))), FIELD_OF_VIEW_DEG / 2)
    with pytest.raises(ViewerError, match="'up'"):
        frame_view(low, high, np.zeros(3))


def test_a_y_down_run_is_framed_upright_around_the_people_not_the_cameras(tmp_path):
    """CMU Panoptic's world: y down, cameras ~4 m away. The person (a tall ellipsoid along -y) must stand upright
    and fill most of the picture's height, although the frusta make the scene's box several times larger."""
    import cv2

    feet = np.array([0.3, 0.0, -0.4])
    person = icosphere(radius=1.0, subdivisions=3)
    vertices = person.vertices * np.array([0.25, 0.85, 0.15]) + feet + 0.85 * Y_DOWN
    save_mesh(tmp_path / "scene" / "000000.ply", type(person)(vertices, person.faces,
              colors=np.tile([0.9, 0.1, 0.1], (len(vertices), 1))))  # fmt: skip
    write_body_frame(tmp_path, 0, [standing_person(Y_DOWN, feet)])
    cameras = ring(Y_DOWN, feet + 0.85 * Y_DOWN)
    view = frame_view_of_run(tmp_path, 0, scene_mesh(tmp_path, 0), cameras)
    assert np.allclose(view.up, Y_DOWN)
    image = cv2.imread(str(screenshot(frame_geometry(tmp_path, 0, cameras), tmp_path / "shot.png", (160, 160), view)))
    rows, cols = np.nonzero((image[..., 2] > 120) & (image[..., 0] < 90))  # the red person
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert height > 2 * width and height > 0.5 * 160
