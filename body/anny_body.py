"""``AnnyBody``: the free default body model (Anny, Apache-2.0, data shipped on PyPI) behind :class:`BodyModel`.

Anny's own frame is already the project's: metres, z-up, facing -y, body left at +x; its root bone sits near
the pelvis. The wrapper only moves the root bone's head to the origin (the canonical frame).

Rig: Anny's default rig (104 bones incl. fingers, toes, eyes). ``pose_aa`` drives 19 of them (table
``POSE_BONES``); the others stay at rest. Each rotation is expressed in world-aligned axes at rest and turns
the bone about its head (Anny's ``local-ref`` parameterisation), relative to the rest pose: Anny's reference
orientations are disabled so that a zero pose is exactly the rest mesh.
Shape: Anny's 6 default phenotypes (gender, age, muscle, weight, height, proportions) in [0, 1], 0.5 = mean.
Keypoints: Anny's COCO + feet regressor (23 points from the surface), ``upper_neck`` = head of bone
``neck03``, ``head_top`` = the highest rest-pose vertex skinned mostly to ``head``; ``neck``, ``mid_hip``
derived.

The first construction on a machine builds Anny's cache (about 1-2 minutes, ~790 MB) in
``body.cache.anny_cache_dir()``; later ones load it in well under a second.
"""

from __future__ import annotations

import logging
import time

import torch

from body.cache import anny_cache_dir, anny_cache_is_built, import_anny
from body.model import BodyModel, PoseState, RestState, axis_angle_to_matrix, rigid_transform

logger = logging.getLogger(__name__)

POSE_BONES: dict[str, str] = {
    "left_hip": "upperleg01.L", "right_hip": "upperleg01.R", "spine1": "spine05",
    "left_knee": "lowerleg01.L", "right_knee": "lowerleg01.R", "spine2": "spine03",
    "left_ankle": "foot.L", "right_ankle": "foot.R", "spine3": "spine01", "neck": "neck01",
    "left_collar": "clavicle.L", "right_collar": "clavicle.R", "head": "head",
    "left_shoulder": "upperarm01.L", "right_shoulder": "upperarm01.R", "left_elbow": "lowerarm01.L",
    "right_elbow": "lowerarm01.R", "left_wrist": "wrist.L", "right_wrist": "wrist.R",
}  # fmt: skip
"""Canonical pose-joint name -> Anny bone, in ``pose_aa`` order (SMPL's body order without the toes)."""

REGRESSOR_MIN_WEIGHT = 1e-4
"""Anny's keypoint regressor weights below this are dropped (rows renormalised): 8795 -> ~1200 vertices to skin
when fitting; keypoints move by well under a millimetre."""
UPPER_NECK_BONE = "neck03"
HEAD_BONE = "head"


def _build_anny(dtype: torch.dtype):
    anny = import_anny()
    if not anny_cache_is_built():
        logger.warning(
            "Building the Anny body-model cache in %s (first use on this machine: about 1-2 minutes, ~790 MB). "
            "Set MULTICAP_CACHE_DIR to put it elsewhere.",
            anny_cache_dir(),
        )
        start = time.perf_counter()
        model = anny.Anny(skinning_method="lbs")
        logger.warning("Anny cache built in %.0f s.", time.perf_counter() - start)
    else:
        model = anny.Anny(skinning_method="lbs")
    # Pose relative to the rest pose, not Anny's reference pose, so zero pose == rest mesh (see module doc).
    model.reference_bone_orientations = None
    coco = anny.KeypointsRegressor.coco(model)
    return model.to(dtype), coco.regression_weights.to(dtype), list(coco.labels)


class AnnyBody(BodyModel):
    """Anny behind the :class:`BodyModel` interface (see the module docstring for rig, shape and keypoints).

    Args:
        dtype: float32 (default) or float64 for all buffers and outputs.
    """

    def __init__(self, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        anny_model, coco_weights, coco_names = _build_anny(dtype)
        self._anny = anny_model
        self.name = "anny"
        self.joint_names = list(anny_model.bone_labels)
        self.joint_parents = [int(p) for p in anny_model.bone_parents]
        self.pose_joint_names = list(POSE_BONES)
        self.shape_names = list(anny_model.phenotype_labels)
        self.register_buffer("faces", anny_model.faces.to(torch.int64).clone(), persistent=False)
        num_vertices, num_bones = anny_model.template_vertices.shape[0], len(self.joint_names)
        dense = torch.zeros(num_vertices, num_bones, dtype=dtype)
        dense.scatter_add_(1, anny_model.vertex_bone_indices.long(), anny_model.vertex_bone_weights.to(dtype))
        self.register_buffer("skinning_weights", dense, persistent=False)
        self.register_buffer("shape_mean", torch.full((len(self.shape_names),), 0.5, dtype=dtype), persistent=False)
        bounds = torch.tensor([[0.0, 1.0]] * len(self.shape_names), dtype=dtype)
        self.register_buffer("shape_bounds", bounds, persistent=False)
        self.register_buffer(
            "pose_bone_index", torch.tensor([self.joint_names.index(b) for b in POSE_BONES.values()]), persistent=False
        )
        self._set_keypoints(coco_weights, coco_names)

    def _set_keypoints(self, coco_weights: torch.Tensor, coco_names: list[str]) -> None:
        num_vertices, num_bones = self.skinning_weights.shape
        with torch.no_grad():
            rest = self.rest_state(self.shape_mean[None]).vertices[0]
        head = self.joint_names.index(HEAD_BONE)
        on_head = self.skinning_weights.argmax(1) == head
        head_top = int(torch.where(on_head, rest[:, 2], rest.new_tensor(-1e9)).argmax())
        sparse = torch.where(coco_weights >= REGRESSOR_MIN_WEIGHT, coco_weights, 0.0)
        sparse = sparse / sparse.sum(1, keepdim=True)
        vertex_rows = list(sparse)
        joint_rows = [torch.zeros(num_bones, dtype=self.dtype) for _ in coco_names]
        vertex_rows.append(torch.zeros(num_vertices, dtype=self.dtype))
        joint_rows.append(torch.nn.functional.one_hot(torch.tensor(self.joint_names.index(UPPER_NECK_BONE)), num_bones).to(self.dtype))
        vertex_rows.append(torch.nn.functional.one_hot(torch.tensor(head_top), num_vertices).to(self.dtype))
        joint_rows.append(torch.zeros(num_bones, dtype=self.dtype))
        names = coco_names + ["upper_neck", "head_top"]
        self._set_keypoint_regressor(names, torch.stack(vertex_rows), torch.stack(joint_rows))

    def rest_state(self, shape: torch.Tensor, vertex_ids: torch.Tensor | None = None) -> RestState:
        """Rest shape for phenotypes ``shape`` (B, 6). ``frames`` are Anny's rest bone poses (B, 104, 4, 4),
        root at the origin."""
        model = self._anny
        empty = shape.new_zeros(shape.shape[0], 0)
        coeffs = model._get_phenotype_blendshape_coefficients(shape, empty, empty)
        rest = model.get_rest_model(coeffs)
        root = rest["rest_bone_heads"][:, :1]  # (B, 1, 3)
        vertices = rest["rest_vertices"] if vertex_ids is None else rest["rest_vertices"][:, vertex_ids]
        frames = rest["rest_bone_poses"].clone()
        frames[..., :3, 3] -= root
        return RestState(vertices=vertices - root, joints=rest["rest_bone_heads"] - root, frames=frames)

    def pose_state(self, rest: RestState, pose_aa: torch.Tensor, vertex_ids: torch.Tensor | None = None) -> PoseState:
        """Forward kinematics of Anny's rig (``local-ref``) with the 19 posed bones of ``pose_aa`` (B, 19, 3)."""
        model = self._anny
        batch = pose_aa.shape[0]
        rotations = torch.eye(3, dtype=pose_aa.dtype, device=pose_aa.device).repeat(batch, len(self.joint_names), 1, 1)
        rotations = rotations.index_copy(1, self.pose_bone_index, axis_angle_to_matrix(pose_aa))
        deltas = rigid_transform(rotations, torch.zeros_like(rotations[..., 0]))
        transforms, _ = model.get_bone_transforms(deltas, rest.frames, pose_parameterization="local-ref")
        # The root's delta sets its world pose to the identity; put it back at its rest pose.
        return PoseState(transforms=rest.frames[:, :1] @ transforms, vertex_offsets=None)
