"""Pictures of the body stage: the fitted bodies (rendered, blended) and triangulated skeletons with track ids,
drawn over each view's image of one frame (``RUN/report/body/<camera>_<frame:06d>.png``)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import torch

from body.capture_io import BodyPerson
from body.keypoint_layouts import get_layout
from body.model import BodyModel
from calibration.atomic import write_png
from calibration.rig import Rig
from calibration.run_layout import RunLayout

logger = logging.getLogger(__name__)

COLOURS = ((255, 200, 0), (80, 80, 255), (80, 220, 80), (255, 0, 255), (0, 220, 255), (255, 128, 0))
"""Per person id, BGR."""


def _background(rig: Rig, camera, frame: int) -> np.ndarray:
    """(H, W, 3) uint8 BGR: the camera's image of ``frame`` if the rig's capture has images/videos, else dark."""
    from body.detection.errors import DetectionError
    from body.detection.frames import read_camera_frames

    canvas = np.full((camera.height, camera.width, 3), 40, dtype=np.uint8)
    if rig.layout is None or (rig.layout.images is None and rig.layout.videos is None):
        return canvas
    try:
        for _, image in read_camera_frames(rig.layout, camera.name, [frame]):
            height, width = min(image.shape[0], camera.height), min(image.shape[1], camera.width)
            canvas[:height, :width] = cv2.cvtColor(image[:height, :width], cv2.COLOR_RGB2BGR)
    except DetectionError as error:
        logger.warning("overlay: no image for camera %s frame %d (%s)", camera.name, frame, error)
    return canvas


def _body_meshes(people: list[BodyPerson], body: BodyModel | None) -> list:
    """The fitted bodies of ``people`` as coloured meshes (people without a fit are left out)."""
    from render import Mesh

    meshes = []
    for person in people if body is not None else []:
        if person.params is None:
            continue
        with torch.no_grad():
            output = body(person.params.to(dtype=body.dtype))
        colour = np.asarray(COLOURS[person.id % len(COLOURS)][::-1], dtype=np.float64) / 255.0
        meshes.append(Mesh(output.vertices.double().numpy(), output.faces.numpy(),
                           colors=np.tile(colour, (output.vertices.shape[0], 1))))  # fmt: skip
    return meshes


def write_body_overlays(rig: Rig, frame: int, people: list[BodyPerson], body: BodyModel | None, run: RunLayout) -> list[Path]:
    """Per view: the fitted body meshes and the keypoint skeletons with ids over the image; returns the PNG paths."""
    from render import render

    meshes = _body_meshes(people, body)
    paths = []
    for camera in rig:
        canvas = _background(rig, camera, frame)
        if meshes:
            rendered = render(meshes, [camera])
            mask = rendered.mask[0]
            rgb = (rendered.rgb[0][..., ::-1] * 255.0).astype(np.float32)
            canvas[mask] = (0.45 * canvas[mask] + 0.55 * rgb[mask]).astype(np.uint8)
        thickness = max(1, round(max(canvas.shape[:2]) / 500))
        for person in people:
            colour = COLOURS[person.id % len(COLOURS)]
            seen = person.confidence > 0
            points = np.round(camera.project(person.keypoints)).astype(int)
            for a, b in get_layout(person.layout).edges:
                if seen[a] and seen[b]:
                    cv2.line(canvas, tuple(points[a]), tuple(points[b]), colour, thickness, cv2.LINE_AA)
            if seen.any():
                x, y = points[seen].min(0)
                cv2.putText(canvas, f"id {person.id}", (int(x), max(int(y) - 8, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                            0.5 * thickness, colour, thickness)  # fmt: skip
        path = run.overlay_file("body", camera.name, frame)
        write_png(path, canvas)
        paths.append(path)
    return paths
