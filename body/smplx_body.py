"""``SmplxBody``: SMPL-X (user-supplied, licence-restricted model files) behind :class:`BodyModel`.

The files are loaded with ``smplx.create``; the forward pass is this package's own, from the loaded module's
buffers and ``smplx.lbs`` functions, so that it can return per-joint transforms and posed keypoints in the
project's frame.

Convention: SMPL-X is y-up, facing +z, left at +x. The canonical frame rotates it by +90 degrees about x,
``p_canonical = C @ (p_smplx - pelvis)`` with ``C = [[1,0,0],[0,0,-1],[0,1,0]]`` (y -> z, z -> -y), so the
body faces -y with z up, like Anny. ``pose_aa`` rotations are given in canonical axes and converted with
``R_smplx = C^T R C``; pose correctives are computed from ``R_smplx`` as in SMPL-X. ``pose_aa`` drives the 21
body joints (SMPL-X joints 1-21); jaw, eyes and fingers stay at rest (flat hands).
Shape: ``num_betas`` betas (default 10). Keypoints: joints for shoulders, elbows, wrists, hips, knees, ankles
and ``upper_neck`` (joint ``head``), the smplx package's vertex ids for nose, eyes, ears, toes and heels, and
the highest rest vertex skinned to ``head`` for ``head_top``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path

import torch
from smplx.joint_names import JOINT_NAMES
from smplx.lbs import batch_rigid_transform, blend_shapes
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from body.errors import SMPLX_DOWNLOAD_HELP, BodyModelError, SmplxModelNotFoundError
from body.model import BodyModel, PoseState, RestState, axis_angle_to_matrix

logger = logging.getLogger(__name__)

SMPLX_DIR_ENV_VAR = "MULTICAP_SMPLX_DIR"
NUM_JOINTS = 55
POSE_JOINTS = JOINT_NAMES[1:22]
"""The 21 SMPL-X body joints driven by ``pose_aa``, in order."""

_JOINT_KEYPOINTS = {
    "left_shoulder": "left_shoulder", "right_shoulder": "right_shoulder", "left_elbow": "left_elbow",
    "right_elbow": "right_elbow", "left_wrist": "left_wrist", "right_wrist": "right_wrist", "left_hip": "left_hip",
    "right_hip": "right_hip", "left_knee": "left_knee", "right_knee": "right_knee", "left_ankle": "left_ankle",
    "right_ankle": "right_ankle", "upper_neck": "head",
}  # fmt: skip
_VERTEX_KEYPOINTS = {
    "nose": "nose", "left_eye": "leye", "right_eye": "reye", "left_ear": "lear", "right_ear": "rear",
    "left_big_toe": "LBigToe", "left_small_toe": "LSmallToe", "left_heel": "LHeel",
    "right_big_toe": "RBigToe", "right_small_toe": "RSmallToe", "right_heel": "RHeel",
}  # fmt: skip
"""Canonical keypoint -> name in smplx's ``vertex_ids`` table."""

SMPLX_TO_CANONICAL = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
"""C: SMPL-X (y-up, facing +z) -> canonical (z-up, facing -y)."""


def resolve_smplx_file(model_dir: str | Path | None = None, gender: str = "neutral") -> Path:
    """The SMPL-X model file to load.

    Looks at ``model_dir`` (a file, or a folder holding ``smplx/SMPLX_<GENDER>.npz|pkl`` or
    ``SMPLX_<GENDER>.npz|pkl``), else ``$MULTICAP_SMPLX_DIR``. Raises :class:`SmplxModelNotFoundError` with
    download instructions when nothing is found.
    """
    source = "argument model_dir"
    if model_dir is None:
        model_dir, source = os.environ.get(SMPLX_DIR_ENV_VAR), f"${SMPLX_DIR_ENV_VAR}"
    if not model_dir:
        raise SmplxModelNotFoundError(f"No SMPL-X model directory given (model_dir or ${SMPLX_DIR_ENV_VAR}). {SMPLX_DOWNLOAD_HELP}")
    path = Path(model_dir).expanduser()
    if path.is_file():
        return path
    name = f"SMPLX_{gender.upper()}"
    candidates = [path / sub / f"{name}.{ext}" for sub in ("smplx", ".") for ext in ("npz", "pkl")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise SmplxModelNotFoundError(f"SMPL-X model file not found (from {source}); looked for: {looked}. {SMPLX_DOWNLOAD_HELP}")


class SmplxBody(BodyModel):
    """SMPL-X behind the :class:`BodyModel` interface (conventions in the module docstring).

    Args:
        model_dir: folder (or file) with the SMPL-X model; default ``$MULTICAP_SMPLX_DIR``.
        gender: ``"neutral"``, ``"male"`` or ``"female"``.
        num_betas: shape coefficients used.
        dtype: float32 (default) or float64.
        keypoint_vertex_ids: vertex ids for the surface keypoints (smplx ``vertex_ids`` naming: ``nose``,
            ``leye``, ``LBigToe``, ...); default the official SMPL-X ids, which need the 10475-vertex topology.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        gender: str = "neutral",
        num_betas: int = 10,
        dtype: torch.dtype = torch.float32,
        keypoint_vertex_ids: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        import smplx

        path = resolve_smplx_file(model_dir, gender)
        try:
            with contextlib.redirect_stdout(io.StringIO()) as printed:  # smplx prints warnings to stdout
                module = smplx.create(str(path), model_type="smplx", gender=gender, ext=path.suffix[1:],
                                      num_betas=num_betas, use_pca=False, flat_hand_mean=True, dtype=dtype)  # fmt: skip
        except Exception as error:  # a corrupt or foreign file: say which and why
            raise BodyModelError(f"{path}: cannot load as an SMPL-X model ({type(error).__name__}: {error})") from error
        if printed.getvalue().strip():
            logger.info("smplx: %s", printed.getvalue().strip())
        if module.J_regressor.shape[0] != NUM_JOINTS:
            raise BodyModelError(f"{path}: expected {NUM_JOINTS} joints (SMPL-X), got {module.J_regressor.shape[0]}")
        num_vertices = module.v_template.shape[0]
        self.name = "smplx"
        self.model_path = path
        self.joint_names = list(JOINT_NAMES[:NUM_JOINTS])
        self.joint_parents = [int(p) for p in module.parents]
        self.pose_joint_names = list(POSE_JOINTS)
        self.shape_names = [f"beta{i}" for i in range(module.num_betas)]
        self.register_buffer("v_template", module.v_template.clone(), persistent=False)
        self.register_buffer("shapedirs", module.shapedirs.clone(), persistent=False)  # (N, 3, S)
        self.register_buffer("posedirs", module.posedirs.clone(), persistent=False)  # (54 * 9, N * 3)
        self.register_buffer("joint_regressor", module.J_regressor.clone(), persistent=False)  # (55, N)
        self.register_buffer("parents", module.parents.clone(), persistent=False)
        self.register_buffer("faces", module.faces_tensor.clone(), persistent=False)
        self.register_buffer("skinning_weights", module.lbs_weights.clone(), persistent=False)
        self.register_buffer("shape_mean", torch.zeros(module.num_betas, dtype=dtype), persistent=False)
        self.shape_bounds = None
        self.register_buffer("to_canonical", SMPLX_TO_CANONICAL.to(dtype), persistent=False)

        ids = dict(SMPLX_VERTEX_IDS["smplx"] if keypoint_vertex_ids is None else keypoint_vertex_ids)
        needed = {smplx_name: ids.get(smplx_name) for smplx_name in _VERTEX_KEYPOINTS.values()}
        bad = {k: v for k, v in needed.items() if v is None or not 0 <= v < num_vertices}
        if bad:
            raise BodyModelError(
                f"{path}: keypoint vertex ids {bad} are missing or outside this model's {num_vertices} vertices; the "
                f"default ids assume the official 10475-vertex SMPL-X; pass keypoint_vertex_ids for another topology"
            )
        self._set_keypoints(needed)

    def _set_keypoints(self, vertex_ids: dict[str, int]) -> None:
        num_vertices = self.num_vertices
        with torch.no_grad():
            rest = self.rest_state(self.shape_mean[None]).vertices[0]
        on_head = self.skinning_weights.argmax(1) == self.joint_names.index("head")
        head_top = int(torch.where(on_head, rest[:, 2], rest.new_tensor(-1e9)).argmax())
        one_hot = lambda i, n: torch.nn.functional.one_hot(torch.tensor(i), n).to(self.dtype)  # noqa: E731
        zeros = lambda n: torch.zeros(n, dtype=self.dtype)  # noqa: E731
        names, vertex_rows, joint_rows = [], [], []
        for name, joint in _JOINT_KEYPOINTS.items():
            names.append(name)
            vertex_rows.append(zeros(num_vertices))
            joint_rows.append(one_hot(self.joint_names.index(joint), NUM_JOINTS))
        for name, smplx_name in list(_VERTEX_KEYPOINTS.items()) + [("head_top", None)]:
            names.append(name)
            vertex_rows.append(one_hot(head_top if smplx_name is None else vertex_ids[smplx_name], num_vertices))
            joint_rows.append(zeros(NUM_JOINTS))
        self._set_keypoint_regressor(names, torch.stack(vertex_rows), torch.stack(joint_rows))

    def rest_state(self, shape: torch.Tensor, vertex_ids: torch.Tensor | None = None) -> RestState:
        """Rest shape for betas ``shape`` (B, S), canonical frame, pelvis at the origin."""
        shaped = self.v_template + blend_shapes(shape, self.shapedirs)  # (B, N, 3) SMPL-X frame
        joints = torch.einsum("jn,bnd->bjd", self.joint_regressor, shaped)
        root = joints[:, :1]
        if vertex_ids is not None:
            shaped = shaped[:, vertex_ids]
        return RestState(vertices=(shaped - root) @ self.to_canonical.T, joints=(joints - root) @ self.to_canonical.T)

    def pose_state(self, rest: RestState, pose_aa: torch.Tensor, vertex_ids: torch.Tensor | None = None) -> PoseState:
        """SMPL-X kinematics (canonical frame) and pose correctives for ``pose_aa`` (B, 21, 3)."""
        batch = pose_aa.shape[0]
        eye = torch.eye(3, dtype=pose_aa.dtype, device=pose_aa.device)
        rotations = eye.repeat(batch, NUM_JOINTS, 1, 1)
        rotations = torch.cat([rotations[:, :1], axis_angle_to_matrix(pose_aa), rotations[:, 22:]], dim=1)
        _, transforms = batch_rigid_transform(rotations, rest.joints, self.parents, dtype=pose_aa.dtype)
        c = self.to_canonical
        features = (c.T @ rotations[:, 1:] @ c - eye).reshape(batch, -1)  # SMPL-X-frame pose features
        posedirs = self.posedirs.reshape(self.posedirs.shape[0], -1, 3)
        if vertex_ids is not None:
            posedirs = posedirs[:, vertex_ids]
        offsets = torch.einsum("bp,pnd->bnd", features, posedirs) @ c.T
        return PoseState(transforms=transforms, vertex_offsets=offsets)
