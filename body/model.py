"""The one body-model interface (:class:`BodyModel`) and its output (:class:`BodyOutput`).

Convention (both backends): metres; world z-up. The *canonical* frame is the body's rest pose (zero pose,
zero global rotation) with its root joint (pelvis) at the origin, facing -y, body left at +x, z up. A backend
only implements the canonical rest shape and the kinematics of ``pose_aa``; this class adds the global
rotation and translation, skinning, keypoints, inverse skinning and re-posing, identically for every backend.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import kornia.geometry.conversions as kgc
import torch

from body import skinning
from body.errors import BodyModelError
from body.keypoint_layouts import CANONICAL_KEYPOINTS, DERIVED_KEYPOINTS, KeypointLayout, get_layout
from body.params import BodyParams, load_params, save_params


@dataclass
class BodyOutput:
    """Posed bodies. ``*batch`` = the batch dims of the parameters.

    Attributes:
        vertices: (*batch, N, 3) posed vertices, world, metres.
        faces: (F, 3) int64 triangle vertex indices (shared).
        joints: (*batch, J, 3) posed joint positions (all skinning joints), world.
        joint_transforms: (*batch, J, 4, 4) skinning transforms, canonical rest -> world.
        keypoints: (*batch, K, 3) named keypoints (``keypoint_names``), world.
        keypoint_names: canonical names of ``keypoints`` (K).
        rest_vertices: (*batch, N, 3) canonical rest pose (shaped, unposed, root at origin).
        rest_joints: (*batch, J, 3) canonical rest joint positions.
        skinning_weights: (N, J) per-vertex skinning weights (shared).
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    joints: torch.Tensor
    joint_transforms: torch.Tensor
    keypoints: torch.Tensor
    keypoint_names: list[str]
    rest_vertices: torch.Tensor
    rest_joints: torch.Tensor
    skinning_weights: torch.Tensor


@dataclass
class RestState:
    """Canonical rest shape of a backend for a batch of shapes.

    vertices: (B, N', 3); joints: (B, J, 3); frames: (B, J, 4, 4) rest joint frames if the backend needs them.
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    frames: torch.Tensor | None = None


@dataclass
class PoseState:
    """Canonical kinematics for a batch of poses.

    transforms: (B, J, 4, 4) rest -> posed, canonical frame (root at origin, no global rotation).
    vertex_offsets: (B, N', 3) pose-dependent corrective offsets added to the rest vertices before skinning,
        or None (Anny has none).
    """

    transforms: torch.Tensor
    vertex_offsets: torch.Tensor | None


def rigid_transform(rotation: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) and (..., 3) -> (..., 4, 4) homogeneous transforms."""
    out = torch.zeros(*rotation.shape[:-2], 4, 4, dtype=rotation.dtype, device=rotation.device)
    out[..., :3, :3] = rotation
    out[..., :3, 3] = translation
    out[..., 3, 3] = 1.0
    return out


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle (radians) -> (..., 3, 3) rotation matrices (kornia, differentiable at 0)."""
    flat = axis_angle.reshape(-1, 3)
    return kgc.axis_angle_to_rotation_matrix(flat).reshape(*axis_angle.shape[:-1], 3, 3)


class BodyModel(torch.nn.Module, ABC):
    """A parametric body: parameters -> posed mesh, joints, keypoints, skinning.

    Backends set, in ``__init__``: ``name``, ``faces`` (F, 3) buffer, ``skinning_weights`` (N, J) buffer,
    ``joint_names``, ``joint_parents``, ``pose_joint_names``, ``shape_names``, ``shape_mean`` (S,) buffer,
    ``shape_bounds`` ((S, 2) buffer or None), then call :meth:`_set_keypoint_regressor`.
    """

    name: str
    joint_names: list[str]
    joint_parents: list[int]
    pose_joint_names: list[str]
    shape_names: list[str]
    keypoint_names: list[str]

    # ----- backend hooks -------------------------------------------------------------------------------
    @abstractmethod
    def rest_state(self, shape: torch.Tensor, vertex_ids: torch.Tensor | None = None) -> RestState:
        """Canonical rest shape for ``shape`` (B, S); only vertices ``vertex_ids`` (N',) when given."""

    @abstractmethod
    def pose_state(self, rest: RestState, pose_aa: torch.Tensor, vertex_ids: torch.Tensor | None = None) -> PoseState:
        """Canonical kinematics for ``pose_aa`` (B, J_pose, 3), ``rest`` broadcast to B."""

    # ----- shared machinery ----------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return self.skinning_weights.dtype

    @property
    def device(self) -> torch.device:
        return self.skinning_weights.device

    @property
    def num_vertices(self) -> int:
        return self.skinning_weights.shape[0]

    def _set_keypoint_regressor(
        self, names: list[str], vertex_weights: torch.Tensor, joint_weights: torch.Tensor
    ) -> None:
        """Keypoints ``k = vertex_weights @ posed vertices + joint_weights @ posed joints``.

        Args:
            names: canonical names of the base keypoints (K0); derived ones are appended automatically.
            vertex_weights: (K0, N). joint_weights: (K0, J).
        """
        names = list(names)
        rows_v, rows_j = list(vertex_weights), list(joint_weights)
        for derived, parts in DERIVED_KEYPOINTS.items():
            if derived not in names and all(p in names for p in parts):
                rows_v.append(sum(w * vertex_weights[names.index(p)] for p, w in parts.items()))
                rows_j.append(sum(w * joint_weights[names.index(p)] for p, w in parts.items()))
                names.append(derived)
        order = [n for n in CANONICAL_KEYPOINTS if n in names]
        self.keypoint_names = order
        index = [names.index(n) for n in order]
        kv = torch.stack(rows_v)[index]
        self.register_buffer("keypoint_vertex_weights", kv.to(self.dtype), persistent=False)
        self.register_buffer("keypoint_joint_weights", torch.stack(rows_j)[index].to(self.dtype), persistent=False)
        self.register_buffer(
            "keypoint_vertex_support", torch.nonzero(kv.abs().sum(0) > 0).squeeze(1), persistent=False
        )

    def keypoint_indices(self, names: list[str] | tuple[str, ...]) -> list[int]:
        """Indices into ``keypoint_names`` of ``names``; raises naming the keypoints this backend cannot produce."""
        missing = [n for n in names if n not in self.keypoint_names]
        if missing:
            raise BodyModelError(f"body model {self.name!r} cannot produce keypoints {missing}; it has {self.keypoint_names}")
        return [self.keypoint_names.index(n) for n in names]

    def layout_support(self, layout: str | KeypointLayout) -> list[bool]:
        """Per joint of ``layout``: whether this body can produce it."""
        return [n in self.keypoint_names for n in get_layout(layout).keypoints]

    def _check_params(self, params: BodyParams) -> None:
        joints, shapes = params.pose_aa.shape[-2], params.shape.shape[-1]
        if joints != len(self.pose_joint_names) or shapes != len(self.shape_names):
            raise BodyModelError(
                f"{self.name}: expected pose_aa (..., {len(self.pose_joint_names)}, 3) and shape "
                f"(..., {len(self.shape_names)}), got pose_aa {tuple(params.pose_aa.shape)} and shape "
                f"{tuple(params.shape.shape)}"
            )

    def _pose(self, params: BodyParams, vertex_ids: torch.Tensor | None):
        """Shared forward: returns (batch, rest, world transforms (B, J, 4, 4), posed vertices (B, N', 3), posed joints)."""
        self._check_params(params)
        batch = params.batch_shape
        flat = math.prod(batch)
        shape_batch = tuple(params.shape.shape[:-1])
        # The rest shape is computed once per distinct shape (e.g. per person), then broadcast over frames.
        rest = self.rest_state(params.shape.reshape(-1, params.shape.shape[-1]).to(self.dtype), vertex_ids)
        expand = lambda t: t.reshape(*shape_batch, *t.shape[1:]).expand(*batch, *t.shape[1:]).reshape(flat, *t.shape[1:])  # noqa: E731
        frames = None if rest.frames is None else expand(rest.frames)
        rest = RestState(vertices=expand(rest.vertices), joints=expand(rest.joints), frames=frames)
        pose = self.pose_state(rest, params.pose_aa.reshape(flat, -1, 3).to(self.dtype), vertex_ids)
        rotation = axis_angle_to_matrix(params.global_rot_aa.reshape(flat, 3).to(self.dtype))
        world = rigid_transform(rotation, params.transl.reshape(flat, 3).to(self.dtype))
        transforms = world[:, None] @ pose.transforms  # (B, J, 4, 4)
        weights = self.skinning_weights if vertex_ids is None else self.skinning_weights[vertex_ids]
        rest_v = rest.vertices if pose.vertex_offsets is None else rest.vertices + pose.vertex_offsets
        vertices = skinning.skin_points(rest_v, weights, transforms)
        joints = skinning.apply_transforms(transforms, rest.joints)
        return batch, rest, transforms, vertices, joints

    def forward(self, params: BodyParams) -> BodyOutput:
        """Pose the bodies. See :class:`BodyOutput` for the shapes."""
        batch, rest, transforms, vertices, joints = self._pose(params, None)
        keypoints = skinning.left_matmul(self.keypoint_vertex_weights, vertices) + skinning.left_matmul(
            self.keypoint_joint_weights, joints
        )
        unflat = lambda t: t.reshape(*batch, *t.shape[1:])  # noqa: E731
        return BodyOutput(
            vertices=unflat(vertices),
            faces=self.faces,
            joints=unflat(joints),
            joint_transforms=unflat(transforms),
            keypoints=unflat(keypoints),
            keypoint_names=list(self.keypoint_names),
            rest_vertices=unflat(rest.vertices),
            rest_joints=unflat(rest.joints),
            skinning_weights=self.skinning_weights,
        )

    def keypoints(self, params: BodyParams, names: list[str] | tuple[str, ...] | None = None) -> torch.Tensor:
        """Keypoints only (skins just the vertices the keypoints need; fast, for fitting).

        Returns:
            (*batch, K, 3) world keypoints for ``names`` (default: ``keypoint_names``).
        """
        support = self.keypoint_vertex_support
        batch, _, _, vertices, joints = self._pose(params, support)
        index = list(range(len(self.keypoint_names))) if names is None else self.keypoint_indices(names)
        keypoints = skinning.left_matmul(self.keypoint_vertex_weights[index][:, support], vertices)
        keypoints = keypoints + skinning.left_matmul(self.keypoint_joint_weights[index], joints)
        return keypoints.reshape(*batch, len(index), 3)

    def layout_keypoints(self, output: BodyOutput, layout: str | KeypointLayout) -> tuple[torch.Tensor, torch.Tensor]:
        """Keypoints of ``output`` in ``layout`` order: (*batch, K_layout, 3) and a (K_layout,) bool availability
        mask (unavailable joints are zeros)."""
        layout = get_layout(layout)
        available = torch.tensor(self.layout_support(layout), device=output.keypoints.device)
        index = torch.tensor(
            [self.keypoint_names.index(n) if n in self.keypoint_names else 0 for n in layout.keypoints],
            device=output.keypoints.device,
        )
        out = output.keypoints[..., index, :] * available[:, None].to(output.keypoints.dtype)
        return out, available

    def neutral_params(self, batch_shape: tuple[int, ...] = (), standing: bool = True) -> BodyParams:
        """Mean shape, zero pose and rotation; with ``standing`` the root is lifted so the feet touch z = 0."""
        zeros = lambda *s: torch.zeros(*batch_shape, *s, dtype=self.dtype, device=self.device)  # noqa: E731
        transl = zeros(3)
        if standing:
            with torch.no_grad():
                rest = self.rest_state(self.shape_mean[None])
                transl[..., 2] = -rest.vertices[0, :, 2].min()
        return BodyParams(
            shape=self.shape_mean.expand(*batch_shape, len(self.shape_names)).clone(),
            pose_aa=zeros(len(self.pose_joint_names), 3),
            global_rot_aa=zeros(3),
            transl=transl,
        )

    # ----- skinning of attached points ------------------------------------------------------------------
    def point_skinning_weights(self, points: torch.Tensor, output: BodyOutput, k: int = 8, sigma: float = 0.05) -> torch.Tensor:
        """Skinning weights (*batch, M, J) of points (*batch, M, 3) posed like ``output`` (paper Eq. 7-8)."""
        return skinning.nearest_vertex_blend_weights(points, output.vertices, self.skinning_weights, k=k, sigma=sigma)

    def inverse_skin(self, points: torch.Tensor, output: BodyOutput, weights: torch.Tensor | None = None,
                     k: int = 8, sigma: float = 0.05) -> torch.Tensor:  # fmt: skip
        """Posed points (*batch, M, 3) -> canonical rest frame (*batch, M, 3).

        ``weights`` (*batch, M, J) default to :meth:`point_skinning_weights`. Pose correctives (SMPL-X) are not
        inverted: points move with the joints only.
        """
        if weights is None:
            weights = self.point_skinning_weights(points, output, k=k, sigma=sigma)
        return skinning.unskin_points(points, weights, output.joint_transforms)

    def repose(self, points: torch.Tensor, source: BodyOutput, target: BodyOutput, weights: torch.Tensor | None = None,
               k: int = 8, sigma: float = 0.05) -> torch.Tensor:  # fmt: skip
        """Move points attached to the body from pose ``source`` to pose ``target`` (paper Eq. 9).

        Args:
            points: (*batch, M, 3) world points near the ``source`` body (e.g. a reconstructed mesh).
            source, target: outputs with the same batch dims (same person, two frames).
            weights: (*batch, M, J) skinning weights of the points; default from the source body (Eq. 7-8).
        Returns:
            (*batch, M, 3) the points in the target pose.
        """
        if weights is None:
            weights = self.point_skinning_weights(points, source, k=k, sigma=sigma)
        source_blend = skinning.blend_transforms(weights, source.joint_transforms)
        target_blend = skinning.blend_transforms(weights, target.joint_transforms)
        return skinning.apply_transforms(target_blend @ torch.linalg.inv(source_blend), points)

    # ----- parameter IO --------------------------------------------------------------------------------
    def save_params(self, path, params: BodyParams) -> None:
        """Write ``params`` of this model as JSON (docs/body-params.md)."""
        save_params(path, params, self.name, self.pose_joint_names, self.shape_names)

    def load_params(self, path) -> BodyParams:
        """Read parameters written for this model; raises if they were written for another model or joint set."""
        params, meta = load_params(path, dtype=self.dtype)
        if meta["model"] != self.name or list(meta["pose_joint_names"]) != self.pose_joint_names:
            raise BodyModelError(
                f"{path}: parameters are for model {meta['model']!r} with joints {meta['pose_joint_names']}, "
                f"expected model {self.name!r} with joints {self.pose_joint_names}"
            )
        return params.to(self.device)
