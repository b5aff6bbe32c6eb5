"""The triangle mesh the metrics take, and loading one from PLY/OBJ."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class MeshError(ValueError):
    """A mesh argument or file that cannot be evaluated; the message names it and says expected vs received."""


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh in world coordinates.

    Attributes:
        vertices: (N, 3) float64 positions, metres.
        faces: (F, 3) int64 vertex indices, counter-clockwise seen from outside (outward normals).

    Validated on construction (shapes, finite values, indices in range, at least one face); the arrays are
    stored read-only.
    """

    vertices: np.ndarray
    faces: np.ndarray

    def __post_init__(self) -> None:
        vertices = np.asarray(self.vertices, dtype=np.float64)
        faces = np.asarray(self.faces)
        if vertices.ndim != 2 or vertices.shape[1] != 3:
            raise MeshError(f"vertices: expected shape (N, 3), got {vertices.shape}")
        if not np.all(np.isfinite(vertices)):
            raise MeshError("vertices: expected finite numbers, got NaN or inf")
        if faces.ndim != 2 or faces.shape[1] != 3 or faces.shape[0] == 0:
            raise MeshError(f"faces: expected shape (F, 3) with F >= 1, got {faces.shape}")
        if not np.issubdtype(faces.dtype, np.integer):
            raise MeshError(f"faces: expected integer indices, got dtype {faces.dtype}")
        if faces.min() < 0 or faces.max() >= len(vertices):
            raise MeshError(
                f"faces: expected indices in [0, {len(vertices) - 1}], got [{faces.min()}, {faces.max()}]"
            )
        faces = faces.astype(np.int64)
        for name, array in (("vertices", vertices), ("faces", faces)):
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def __repr__(self) -> str:
        return f"Mesh({len(self.vertices)} vertices, {len(self.faces)} faces)"


def load_mesh(path: str | Path) -> Mesh:
    """Load a PLY or OBJ file (any format trimesh reads) as one Mesh; a multi-object file is concatenated.

    Raises MeshError naming the file when it is missing, unreadable or holds no triangles (e.g. a point cloud).
    """
    import trimesh  # heavy import, only needed for file IO

    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: expected a mesh file, found none")
    try:
        loaded = trimesh.load(path, force="mesh", process=False)
    except Exception as error:  # trimesh raises many types for bad files
        raise MeshError(f"{path}: could not read a mesh ({type(error).__name__}: {error})") from error
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3))))
    if faces.size == 0:
        raise MeshError(f"{path}: expected triangles, got {type(loaded).__name__} with no faces")
    try:
        return Mesh(np.asarray(loaded.vertices), faces)
    except MeshError as error:
        raise MeshError(f"{path}: {error}") from None
