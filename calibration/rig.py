"""A rig: the cameras of a capture, in order, plus where the capture's data lies on disk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calibration.camera import Camera
from calibration.errors import FrameSelectionError, RigError


@dataclass(frozen=True)
class FrameRange:
    """Frames start, start + step, ... below stop (stop None = until the data ends). Integers, step > 0."""

    start: int = 0
    stop: int | None = None
    step: int = 1

    @classmethod
    def parse(cls, text: str) -> "FrameRange":
        """'START:STOP[:STEP]' as on the command line (empty parts: 0, open, 1); ValueError saying what was expected."""
        try:
            parts = [int(part) if part.strip() else None for part in text.split(":")]
            if not 1 <= len(parts) <= 3:
                raise ValueError(text)
        except ValueError:
            raise ValueError(f"expected START:STOP[:STEP] with integers, got {text!r}") from None
        start, stop, step = (parts + [None, None])[:3]
        return cls(start or 0, stop, step or 1)

    def frames(self, available: int | None = None) -> range:
        """The frame numbers; `available` (frame count of the data) bounds an open range."""
        stop = self.stop if self.stop is not None else available
        if stop is None:
            raise ValueError("FrameRange.frames: open range (stop = None) needs the number of available frames")
        return range(self.start, stop, self.step)

    def __str__(self) -> str:
        """As written on the command line: ``START:STOP[:STEP]``."""
        stop = "" if self.stop is None else self.stop
        return f"{self.start}:{stop}" + (f":{self.step}" if self.step != 1 else "")


def select_frames(frames: FrameRange | None, available: Iterable[int], source: str) -> list[int]:
    """The `available` frames that `frames` selects (all of them when `frames` is None).

    Raises FrameSelectionError naming `source` and its frame range when `frames` asks for frames beyond it.
    """
    available = sorted(set(available))
    if frames is None:
        return available
    if not available:
        raise FrameSelectionError(f"--frames: {source} has no frames")
    wanted = frames.frames(max(available[-1], frames.start) + 1)  # an open range starting beyond the data: its start
    outside = [frame for frame in wanted if not available[0] <= frame <= available[-1]]
    if outside:
        span = str(outside[0]) if len(outside) == 1 else f"{outside[0]}..{outside[-1]}"
        raise FrameSelectionError(f"--frames {frames}: frame(s) {span} outside the frames of {source}: "
                                  f"{available[0]}..{available[-1]}")  # fmt: skip
    present = set(available)
    return [frame for frame in wanted if frame in present]


@dataclass(frozen=True)
class CaptureLayout:
    """Where a capture's images/videos, masks and 2D keypoints are (absolute paths), its frames and fps.

    Per camera data lies in `<folder>/<camera folder>/...` (images, masks, keypoints) or `<videos>/<camera folder>.mp4`;
    the camera folder is the camera's name unless `camera_folders` maps it to another name.
    """

    images: Path | None = None
    videos: Path | None = None
    masks: Path | None = None
    keypoints: Path | None = None
    keypoint_format: str | None = None
    frames: FrameRange = field(default_factory=FrameRange)
    fps: float | None = None
    camera_folders: dict[str, str] = field(default_factory=dict)

    def camera_folder(self, camera: str) -> str:
        return self.camera_folders.get(camera, camera)

    def image_dir(self, camera: str) -> Path | None:
        return self.images / self.camera_folder(camera) if self.images is not None else None

    def video_file(self, camera: str) -> Path | None:
        return self.videos / f"{self.camera_folder(camera)}.mp4" if self.videos is not None else None

    def mask_dir(self, camera: str) -> Path | None:
        return self.masks / self.camera_folder(camera) if self.masks is not None else None

    def keypoint_dir(self, camera: str) -> Path | None:
        return self.keypoints / self.camera_folder(camera) if self.keypoints is not None else None


@dataclass(frozen=True)
class Rig:
    """Cameras in a fixed order (the view index V everywhere downstream) and the capture layout, if any.

    `source` is the file the rig was read from (None when built in code); errors name it.
    """

    cameras: tuple[Camera, ...]
    layout: CaptureLayout | None = None
    source: Path | None = None

    def __post_init__(self) -> None:
        cameras = tuple(self.cameras)
        if not cameras:
            raise RigError("expected at least one camera, got none", file=self.source, field="cameras")
        seen: set[str] = set()
        for camera in cameras:
            if not isinstance(camera, Camera):
                raise RigError(f"expected Camera objects, got {type(camera).__name__}", field="cameras")
            if camera.name in seen:
                raise RigError(
                    "duplicate camera name: every camera needs a unique name",
                    file=self.source,
                    camera=camera.name,
                    field="name",
                )
            seen.add(camera.name)
        object.__setattr__(self, "cameras", cameras)

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> Camera:
        if isinstance(key, str):
            for camera in self.cameras:
                if camera.name == key:
                    return camera
            raise KeyError(f"no camera named {key!r}; cameras: {', '.join(self.names)}")
        return self.cameras[key]

    @property
    def names(self) -> list[str]:
        return [camera.name for camera in self.cameras]

    def index(self, name: str) -> int:
        """View index of the camera called `name`."""
        return self.names.index(name)

    def subset(self, names: Sequence[str]) -> "Rig":
        """A rig with only the named cameras, in the given order."""
        return Rig(tuple(self[name] for name in names), self.layout, self.source)

    @property
    def centers(self) -> np.ndarray:
        """(V, 3) camera centres, metres."""
        return np.stack([camera.center for camera in self.cameras])

    @property
    def center(self) -> np.ndarray:
        """(3,) centre of the rig: the point closest (least squares) to all optical axes, or the mean camera
        centre when the axes are (nearly) parallel."""
        centers = self.centers
        directions = np.stack([camera.viewing_direction for camera in self.cameras])
        projectors = np.eye(3)[None] - directions[:, :, None] * directions[:, None, :]  # (V, 3, 3)
        A = projectors.sum(axis=0)
        b = np.einsum("vij,vj->i", projectors, centers)
        if len(self.cameras) < 2 or np.linalg.cond(A) > 1e8:
            return centers.mean(axis=0)
        return np.linalg.solve(A, b)

    def baselines(self) -> np.ndarray:
        """(V, V) distances between camera centres, metres."""
        centers = self.centers
        return np.linalg.norm(centers[:, None] - centers[None], axis=-1)
