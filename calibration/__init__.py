"""Cameras and rigs: the Camera type, rig.yaml IO and validation, importers/exporters of other tools' calibration
files, torch geometry (projection with distortion, undistortion, rays, triangulation, epipolar geometry).

Public entry points: `Camera`, `Rig`, `load_rig`, `save_rig`.
"""

from calibration.camera import Camera
from calibration.errors import RigError
from calibration.rig import CaptureLayout, FrameRange, Rig
from calibration.rig_file import load_rig, save_rig

__all__ = ["Camera", "CaptureLayout", "FrameRange", "Rig", "RigError", "load_rig", "save_rig"]
