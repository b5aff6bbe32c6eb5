"""The run folder of `capture reconstruct` and its stages: the one owner of every path inside it.

    run = RunLayout(Path("RUN"))
    run.body_file(12)            # RUN/body/000012.json
    run.mesh_file(12, 3)         # RUN/meshes/000012/person_3.ply
    run.mesh_file(12, 3, fused=True)   # RUN/fused/000012/person_3.ply

Layout (frames are 6-digit zero-padded, person ids are track ids):

    keypoints/<camera>/<frame>.json            2D keypoints detected by the keypoint stage (OpenPose JSON)
    body/<frame>.json                          people of a frame: 3D keypoints, fitted body (docs/body-output.md)
    masks/<camera>/<frame>.png                 per-person label map (0 background, 1 + track id)
    masks/<camera>/<frame>_occluded_<id>.png   where another person hides that person
    masks/segmentation.json                    how the masks were made
    meshes/<frame>/person_<id>.ply             per-frame reconstruction; person_<id>.json its record (voxel size,
                                               grid, settings); person_<id>.empty.json when it came out empty
    fused/<frame>/person_<id>.ply              after temporal fusion
    scene/<frame>.ply                          every person of a frame in one mesh, world coordinates
    report/                                    index.html, per-stage overlays (report/<stage>/...), coverage.json
    run.json, run.lock                         the run record and the single writer's lock

It lives in `calibration` beside `CaptureLayout` (the input folder's layout) because every stage package
imports `calibration` and nothing below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PERSON_MESH = re.compile(r"^person_(-?\d+)\.ply$")


def frame_name(frame: int) -> str:
    """A frame's 6-digit name (``000012``)."""
    return f"{frame:06d}"


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run folder ``root`` (nothing is created or read here except by the `find_*` listings)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # --- keypoints ---
    @property
    def keypoints_dir(self) -> Path:
        return self.root / "keypoints"

    def keypoint_file(self, camera: str, frame: int) -> Path:
        return self.keypoints_dir / camera / f"{frame_name(frame)}.json"

    # --- body ---
    @property
    def body_dir(self) -> Path:
        return self.root / "body"

    def body_file(self, frame: int) -> Path:
        return self.body_dir / f"{frame_name(frame)}.json"

    def body_frames(self) -> set[int]:
        """Frames whose body file exists."""
        folder = self.body_dir
        return {int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()} if folder.is_dir() else set()

    # --- masks ---
    @property
    def masks_dir(self) -> Path:
        return self.root / "masks"

    def camera_masks_dir(self, camera: str) -> Path:
        return self.masks_dir / camera

    @property
    def segmentation_record(self) -> Path:
        """How the masks were made (source, settings, seconds per frame)."""
        return self.masks_dir / "segmentation.json"

    def label_file(self, camera: str, frame: int) -> Path:
        return self.camera_masks_dir(camera) / f"{frame_name(frame)}.png"

    def occluded_file(self, camera: str, frame: int, person: int) -> Path:
        return self.camera_masks_dir(camera) / f"{frame_name(frame)}_occluded_{person}.png"

    # --- meshes ---
    def meshes_dir(self, fused: bool = False) -> Path:
        return self.root / ("fused" if fused else "meshes")

    def mesh_file(self, frame: int, person: int, fused: bool = False) -> Path:
        return self.meshes_dir(fused) / frame_name(frame) / f"person_{person}.ply"

    def final_mesh_file(self, frame: int, person: int, fusion: bool) -> Path:
        """The fused mesh when ``fusion`` is on and it exists, else the per-frame one."""
        fused = self.mesh_file(frame, person, fused=True)
        return fused if fusion and fused.is_file() else self.mesh_file(frame, person)

    def empty_marker(self, frame: int, person: int) -> Path:
        """Written instead of a per-frame mesh whose reconstruction came out empty."""
        return self.meshes_dir() / frame_name(frame) / f"person_{person}.empty.json"

    def find_meshes(self, fused: bool = False) -> dict[int, set[int]]:
        """{person id: frames with a mesh} in ``meshes/`` (or ``fused/``)."""
        found: dict[int, set[int]] = {}
        root = self.meshes_dir(fused)
        for frame_dir in sorted(root.iterdir()) if root.is_dir() else []:
            if not (frame_dir.is_dir() and frame_dir.name.isdigit()):
                continue
            for path in frame_dir.iterdir():
                match = _PERSON_MESH.match(path.name)
                if match:
                    found.setdefault(int(match.group(1)), set()).add(int(frame_dir.name))
        return found

    # --- scene, report, record ---
    def scene_file(self, frame: int) -> Path:
        return self.root / "scene" / f"{frame_name(frame)}.ply"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    def overlay_file(self, stage: str, camera: str, frame: int) -> Path:
        """A stage's picture of one view: ``report/<stage>/<camera>_<frame>.png``."""
        return self.report_dir / stage / f"{camera}_{frame_name(frame)}.png"

    @property
    def record_file(self) -> Path:
        return self.root / "run.json"
