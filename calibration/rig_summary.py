"""Human-readable checks of a rig: camera table, baselines, distances to the rig centre, and a top-view image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from calibration.rig import Rig


@dataclass(frozen=True)
class RigSummary:
    """Figures about a rig. Distances in metres, angles in degrees.

    Attributes:
        center: (3,) rig centre (point nearest to all optical axes).
        distances_to_center: (V,) camera centre to rig centre.
        baselines: (V, V) camera centre distances.
        sees_center: (V,) whether the rig centre projects inside each image, in front of the camera.
        axis_miss: (V,) distance of the rig centre from each camera's optical axis.
    """

    center: np.ndarray
    distances_to_center: np.ndarray
    baselines: np.ndarray
    sees_center: np.ndarray
    axis_miss: np.ndarray


def summarize_rig(rig: Rig) -> RigSummary:
    center = rig.center
    offsets = center[None] - rig.centers  # (V, 3)
    directions = np.stack([camera.viewing_direction for camera in rig])
    along = np.einsum("vi,vi->v", offsets, directions)
    miss = np.linalg.norm(offsets - along[:, None] * directions, axis=1)
    return RigSummary(
        center=center,
        distances_to_center=np.linalg.norm(offsets, axis=1),
        baselines=rig.baselines(),
        sees_center=np.array([bool(camera.sees(center)) for camera in rig]),
        axis_miss=miss,
    )


def format_rig_report(rig: Rig, summary: RigSummary) -> str:
    """A plain-text report of the rig for the terminal."""
    lines = [f"{len(rig)} cameras" + (f" from {rig.source}" if rig.source else "")]
    header = f"{'camera':<12} {'size':>11} {'fx':>8} {'fy':>8} {'fov h/v (deg)':>14} {'centre (m)':>26} {'dist':>6} sees"
    lines.append(header)
    for camera, distance, sees in zip(rig, summary.distances_to_center, summary.sees_center):
        c = camera.center
        fov_h, fov_v = camera.fov_deg
        lines.append(
            f"{camera.name:<12} {camera.width:>5}x{camera.height:<5} {camera.K[0, 0]:>8.1f} {camera.K[1, 1]:>8.1f} "
            f"{fov_h:>6.1f}/{fov_v:<7.1f} ({c[0]:>7.3f}, {c[1]:>7.3f}, {c[2]:>7.3f}) {distance:>6.2f} "
            f"{'yes' if sees else 'NO'}"
        )
    centre = summary.center
    lines.append(f"rig centre: ({centre[0]:.3f}, {centre[1]:.3f}, {centre[2]:.3f}) m")
    lines.append(f"mean distance to the rig centre: {summary.distances_to_center.mean():.3f} m")
    lines.append("baselines (m):")
    width = max(len(name) for name in rig.names) + 1
    lines.append(" " * width + "".join(f"{name:>{max(width, 8)}}" for name in rig.names))
    for name, row in zip(rig.names, summary.baselines):
        lines.append(f"{name:<{width}}" + "".join(f"{value:>{max(width, 8)}.3f}" for value in row))
    blind = [name for name, sees in zip(rig.names, summary.sees_center) if not sees]
    if blind:
        lines.append(f"WARNING: the rig centre is outside the image of: {', '.join(blind)}")
    return "\n".join(lines)


def draw_top_view(rig: Rig, summary: RigSummary, size: int = 800, up_axis: int = 2) -> np.ndarray:
    """(size, size, 3) uint8 BGR image of the rig seen from above (world `up_axis` towards the viewer).

    Cameras are dots with their names, optical axes as arrows and horizontal field-of-view wedges; the rig centre is a
    cross; a 1 m scale bar sits at the bottom left.
    """
    plane_axes = [axis for axis in range(3) if axis != up_axis]
    points = np.vstack([rig.centers, summary.center[None]])[:, plane_axes]
    low, high = points.min(axis=0), points.max(axis=0)
    span = max(float((high - low).max()), 1.0) * 1.3
    middle = (low + high) / 2.0
    scale = size / span  # pixels per metre

    def to_pixel(xy: np.ndarray) -> tuple[int, int]:
        u = (xy[0] - middle[0]) * scale + size / 2
        v = size / 2 - (xy[1] - middle[1]) * scale  # image up = +second plane axis
        return int(round(u)), int(round(v))

    image = np.full((size, size, 3), 255, np.uint8)
    arrow = 0.12 * span
    for camera in rig:
        c = camera.center[plane_axes]
        d = camera.viewing_direction[plane_axes]
        norm = float(np.linalg.norm(d))
        if norm > 1e-6:
            d = d / norm
            half = math.radians(camera.fov_deg[0] / 2.0)
            for sign in (-1.0, 1.0):
                rot = np.array([[math.cos(sign * half), -math.sin(sign * half)], [math.sin(sign * half), math.cos(sign * half)]])
                cv2.line(image, to_pixel(c), to_pixel(c + rot @ d * arrow * 1.6), (200, 200, 200), 1, cv2.LINE_AA)
            cv2.arrowedLine(image, to_pixel(c), to_pixel(c + d * arrow), (40, 90, 200), 2, cv2.LINE_AA, tipLength=0.2)
        cv2.circle(image, to_pixel(c), 6, (30, 30, 30), -1, cv2.LINE_AA)
        u, v = to_pixel(c)
        cv2.putText(image, camera.name, (u + 8, v - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    u, v = to_pixel(summary.center[plane_axes])
    cv2.drawMarker(image, (u, v), (0, 0, 220), cv2.MARKER_CROSS, 18, 2)
    cv2.putText(image, "rig centre", (u + 8, v + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 220), 1, cv2.LINE_AA)
    bar = int(round(scale))
    cv2.line(image, (20, size - 20), (20 + bar, size - 20), (0, 0, 0), 2)
    cv2.putText(image, "1 m", (20, size - 28), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    names = "xyz"
    cv2.putText(
        image,
        f"top view: {names[plane_axes[0]]} right, {names[plane_axes[1]]} up",
        (10, 20),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    return image
