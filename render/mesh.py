"""The project's one triangle-mesh type, per-vertex quantities computed from meshes, and mesh file IO.

Convention: faces are wound counter-clockwise seen from outside (trimesh's convention), so
cross(v1 - v0, v2 - v0) points outwards. Vertices are in metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.atomic import atomic_path

DEFAULT_COLOR = (0.7, 0.7, 0.7)


class MeshError(ValueError):
    """A mesh array or file that cannot be used; the message names the field or file, expected vs received."""


def _float_array(value, name: str, columns: int | None, rows: int | None = None) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    expected = f"({rows if rows is not None else 'N'}, {columns if columns is not None else 'C'})"
    if array.ndim != 2 or (columns is not None and array.shape[1] != columns) or (
        rows is not None and array.shape[0] != rows
    ):
        raise MeshError(f"mesh field '{name}': expected shape {expected}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise MeshError(f"mesh field '{name}': expected finite numbers, got NaN or inf")
    return array


@dataclass(frozen=True, eq=False, repr=False)
class Mesh:
    """A triangle mesh in world coordinates, with optional per-vertex data (every package uses this type).

    Attributes:
        vertices: (N, 3) world coordinates, metres.
        faces: (F, 3) int vertex indices, counter-clockwise seen from outside.
        colors: (N, 3) albedo in [0, 1], or None for DEFAULT_COLOR.
        normals: (N, 3) unit world-frame vertex normals, or None to compute area-weighted ones.
        attributes: (N, C) any per-vertex values to interpolate (e.g. `global_normal_colors`), or None.

    Arrays are validated and stored as read-only float64 / int64 copies. F = 0 is allowed (an empty
    reconstruction renders as nothing); functions that need a surface check for it.
    """

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray | None = None
    normals: np.ndarray | None = None
    attributes: np.ndarray | None = None

    def __post_init__(self) -> None:
        vertices = _float_array(self.vertices, "vertices", 3)
        n = vertices.shape[0]
        faces = np.asarray(self.faces)
        if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
            raise MeshError(f"mesh field 'faces': expected integer shape (F, 3), got {faces.dtype} {faces.shape}")
        faces = faces.astype(np.int64)
        if faces.size and (faces.min() < 0 or faces.max() >= n):
            raise MeshError(
                f"mesh field 'faces': expected indices in [0, {n - 1}], got [{faces.min()}, {faces.max()}]"
            )
        fields = {"vertices": vertices, "faces": faces}
        if self.colors is not None:
            colors = _float_array(self.colors, "colors", 3, n)
            if colors.min() < 0.0 or colors.max() > 1.0:
                raise MeshError(
                    f"mesh field 'colors': expected values in [0, 1], got [{colors.min():g}, {colors.max():g}]"
                )
            fields["colors"] = colors
        if self.normals is not None:
            fields["normals"] = _float_array(self.normals, "normals", 3, n)
        if self.attributes is not None:
            fields["attributes"] = _float_array(self.attributes, "attributes", None, n)
        for name, value in fields.items():
            value = value.copy()
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        extras = [name for name in ("colors", "normals", "attributes") if getattr(self, name) is not None]
        return f"Mesh({self.num_vertices} vertices, {self.num_faces} faces" + "".join(f", {e}" for e in extras) + ")"

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    def vertex_colors(self) -> np.ndarray:
        """(N, 3) albedo: `colors`, or DEFAULT_COLOR everywhere."""
        if self.colors is not None:
            return self.colors
        return np.broadcast_to(np.asarray(DEFAULT_COLOR), (self.num_vertices, 3))

    def vertex_normals(self) -> np.ndarray:
        """(N, 3) unit normals: `normals`, or area-weighted ones from the faces."""
        if self.normals is not None:
            return self.normals
        return vertex_normals(self.vertices, self.faces)


def face_normals(vertices: np.ndarray, faces: np.ndarray, normalize: bool = True) -> np.ndarray:
    """(F, 3) face normals cross(v1 - v0, v2 - v0); unit length if `normalize`, else length = 2 x area."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces)
    normals = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    if normalize:
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    return normals


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) area-weighted unit vertex normals of a mesh; (0, 0, 0) for vertices in no face.

    Args:
        vertices: (N, 3) positions.
        faces: (F, 3) int indices, counter-clockwise seen from outside.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces)
    weighted = face_normals(v, f, normalize=False)  # (F, 3), length = 2 x area
    corners = f.reshape(-1)  # each face's weighted normal goes to its 3 vertices
    normals = np.zeros_like(v)
    for k in range(3):
        normals[:, k] = np.bincount(corners, np.repeat(weighted[:, k], 3), minlength=len(v))
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


def global_normal_colors(canonical_vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) the paper's "global normal map" colours: canonical-frame vertex normals mapped to [0, 1].

    Encoding: colour = (n + 1) / 2 with n the area-weighted unit normal of the body in its canonical
    (unposed) frame, so the colour of a body part does not change with pose or view. Pass the result as
    `Mesh(posed_vertices, faces, attributes=global_normal_colors(canonical_vertices, faces))` and read
    `RenderOutput.attributes`.

    Args:
        canonical_vertices: (N, 3) the body's vertices in its canonical frame.
        faces: (F, 3) int indices.
    """
    return (vertex_normals(canonical_vertices, faces) + 1.0) * 0.5


def face_areas(mesh: Mesh) -> np.ndarray:
    """(F,) triangle areas, in the mesh's units squared."""
    a, b, c = (mesh.vertices[mesh.faces[:, k]] for k in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def sample_surface(mesh: Mesh, count: int, seed: int | np.random.Generator) -> np.ndarray:
    """(count, 3) points drawn uniformly over the surface area (area-weighted face choice, uniform barycentrics).

    The same (mesh, count, seed) always gives the same points; `seed` may be a Generator, which is advanced. Degenerate (zero-area) faces are never chosen.
    Raises MeshError for a mesh without faces or with zero total area.

    Example:
        >>> points = sample_surface(mesh, 10_000, seed=0)   # (10000, 3), same units as mesh.vertices
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count <= 0:
        raise ValueError(f"count: expected a positive integer, got {count!r}")
    if mesh.num_faces == 0:
        raise MeshError(f"expected a mesh with at least one face to sample, got {mesh!r}")
    areas = face_areas(mesh)
    total = float(areas.sum())
    if not total > 0.0:
        raise MeshError(f"expected a mesh with positive surface area, got {total:g} ({mesh!r})")
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(areas)
    # searchsorted on the cumulative areas: face f is chosen with probability areas[f] / total.
    face_ids = np.searchsorted(cumulative, rng.random(count) * cumulative[-1], side="right")
    face_ids = np.minimum(face_ids, len(areas) - 1)  # guards the float edge case u * total == total
    u, v = rng.random((2, count))
    outside = u + v > 1.0  # fold the unit square onto the triangle u + v <= 1
    u[outside], v[outside] = 1.0 - u[outside], 1.0 - v[outside]
    a, b, c = (mesh.vertices[mesh.faces[face_ids, k]] for k in range(3))
    return a + u[:, None] * (b - a) + v[:, None] * (c - a)


def raycasting_scene(vertices: np.ndarray, faces: np.ndarray):
    """An Open3D `RaycastingScene` holding one triangle mesh ((N, 3) vertices, (F, 3) faces; stored as float32 /
    uint32) for closest-point, distance, signed-distance, occupancy and ray queries."""
    import open3d as o3d  # heavy import, only needed here

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor(np.ascontiguousarray(vertices, dtype=np.float32)),
        o3d.core.Tensor(np.ascontiguousarray(faces, dtype=np.uint32)),
    )
    return scene


def load_mesh(path: str | Path) -> Mesh:
    """Load a PLY or OBJ file (any format trimesh reads) as one Mesh; a multi-object file is concatenated.

    Per-vertex colours in the file become `colors` in [0, 1] (8-bit values / 255; alpha is dropped); texture
    maps and stored normals are not read. Raises MeshError naming the file when it is missing, unreadable or
    holds no triangles (e.g. a point cloud).
    """
    import trimesh  # heavy import, only needed for file IO

    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: expected a mesh file, found none")
    try:
        loaded = trimesh.load(path, force="mesh", process=False)
    except Exception as error:  # trimesh raises many types for bad files
        raise MeshError(f"{path}: expected a readable mesh file, got {type(error).__name__}: {error}") from error
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3))))
    if faces.size == 0:
        raise MeshError(f"{path}: expected triangles, got {type(loaded).__name__} with no faces")
    colors = None
    visual = getattr(loaded, "visual", None)
    if getattr(visual, "kind", None) == "vertex":
        colors = np.asarray(visual.vertex_colors)[:, :3] / 255.0
    try:
        return Mesh(np.asarray(loaded.vertices), faces, colors=colors)
    except MeshError as error:
        raise MeshError(f"{path}: {error}") from None


def save_mesh(path: str | Path, mesh: Mesh) -> None:
    """Write `mesh` to `path` as binary little-endian PLY, atomically (temp file + rename).

    Written: vertices as float32 (about 1 micrometre resolution within 10 m of the origin), faces, and
    `colors` as 8-bit RGB (round(255 c)) when the mesh has them. Not written: `normals` and `attributes`.
    Raises MeshError for a mesh without faces, which `load_mesh` would refuse to read back.
    """
    import trimesh  # heavy import, only needed for file IO

    path = Path(path)
    if mesh.num_faces == 0:
        raise MeshError(f"{path}: expected a mesh with at least one face to write, got {mesh!r}")
    colors = None if mesh.colors is None else np.round(mesh.colors * 255.0).astype(np.uint8)
    exported = trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_colors=colors, process=False)
    data = trimesh.exchange.ply.export_ply(exported, encoding="binary", vertex_normal=False)
    with atomic_path(path) as temp:
        temp.write_bytes(data)
