"""Synthetic SMPL-X-format model files for tests and benchmarks (not a real body; SMPL-X itself is licensed).

:func:`write_random_smplx_model` writes ``SMPLX_NEUTRAL.npz`` with every array ``smplx`` reads, of the right
shapes, built around a rough stick figure in SMPL-X's own frame (metres, y-up, facing +z, left at +x): two
anchor vertices per joint (the joint regressor averages them, so each joint sits where the figure puts it),
one vertex per named keypoint vertex, and the rest scattered along the bones, each skinned to its joint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

NUM_JOINTS = 55
FULL_NUM_VERTICES = 10475

# SMPL-X kinematic tree: 22 body joints, jaw, eyes, 15 left-hand and 15 right-hand joints.
_BODY_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19]
# Offsets from the parent, SMPL-X frame (y up, body facing +z, left = +x), metres.
_BODY_OFFSETS = [
    (0, 0, 0), (0.06, -0.09, 0), (-0.06, -0.09, 0), (0, 0.11, -0.02), (0.0, -0.38, 0), (0.0, -0.38, 0),
    (0, 0.13, 0), (0, -0.40, -0.02), (0, -0.40, -0.02), (0, 0.05, 0), (0, -0.05, 0.12), (0, -0.05, 0.12),
    (0, 0.21, -0.02), (0.07, 0.11, 0), (-0.07, 0.11, 0), (0, 0.09, 0.05), (0.11, 0.03, 0), (-0.11, 0.03, 0),
    (0.26, 0, 0), (-0.26, 0, 0), (0.25, 0, 0), (-0.25, 0, 0),
]  # fmt: skip
_FINGER_Z = {"index": 0.03, "middle": 0.01, "pinky": -0.03, "ring": -0.01, "thumb": 0.05}
# Keypoint vertices: (joint it is skinned to, offset from that joint in the SMPL-X frame).
_KEYPOINT_VERTICES = {
    "nose": (15, (0, 0.02, 0.11)), "leye": (15, (0.03, 0.05, 0.09)), "reye": (15, (-0.03, 0.05, 0.09)),
    "lear": (15, (0.08, 0.02, 0.0)), "rear": (15, (-0.08, 0.02, 0.0)),
    "LBigToe": (10, (0.0, -0.02, 0.08)), "LSmallToe": (10, (0.05, -0.02, 0.06)), "LHeel": (7, (0.0, -0.07, -0.06)),
    "RBigToe": (11, (0.0, -0.02, 0.08)), "RSmallToe": (11, (-0.05, -0.02, 0.06)), "RHeel": (8, (0.0, -0.07, -0.06)),
}  # fmt: skip


def smplx_skeleton() -> tuple[list[int], np.ndarray]:
    """Parents (55,) and rest joint positions (55, 3) of the stick figure, SMPL-X frame."""
    parents = list(_BODY_PARENTS) + [15, 15, 15]  # jaw, left eye, right eye
    offsets = list(_BODY_OFFSETS) + [(0, -0.02, 0.05), (0.03, 0.07, 0.08), (-0.03, 0.07, 0.08)]
    for wrist, side in ((20, 1.0), (21, -1.0)):
        for finger in ("index", "middle", "pinky", "ring", "thumb"):
            base = len(parents)
            for segment in range(3):
                parents.append(wrist if segment == 0 else base + segment - 1)
                offsets.append((side * (0.09 if segment == 0 else 0.03), 0.0, _FINGER_Z[finger] if segment == 0 else 0.0))
    joints = np.zeros((NUM_JOINTS, 3))
    for j in range(NUM_JOINTS):
        joints[j] = (joints[parents[j]] if parents[j] >= 0 else 0.0) + np.asarray(offsets[j])
    return parents, joints


def write_random_smplx_model(
    directory: str | Path, num_vertices: int = 400, num_shape: int = 20, seed: int = 0
) -> tuple[Path, dict[str, int]]:
    """Write ``directory/smplx/SMPLX_NEUTRAL.npz``: a random but valid SMPL-X-format model.

    Args:
        num_vertices: N >= 2 * 55 + 11. With ``FULL_NUM_VERTICES`` (10475) the keypoint vertices sit at the
            official SMPL-X vertex ids, so ``SmplxBody``'s default keypoints apply.
        num_shape: shape + expression components (20 = SMPL-X v1.0 layout, 10 + 10).
    Returns:
        The file path and the keypoint vertex ids (smplx ``vertex_ids`` naming: ``nose``, ``leye``, ...).
    """
    if num_vertices < 2 * NUM_JOINTS + len(_KEYPOINT_VERTICES):
        raise ValueError(f"num_vertices must be >= {2 * NUM_JOINTS + len(_KEYPOINT_VERTICES)}, got {num_vertices}")
    rng = np.random.default_rng(seed)
    parents, joints = smplx_skeleton()
    children = {j: [c for c in range(NUM_JOINTS) if parents[c] == j] for j in range(NUM_JOINTS)}

    owner = rng.integers(0, NUM_JOINTS, num_vertices)  # joint each vertex is skinned to
    vertices = np.zeros((num_vertices, 3))
    for v in range(num_vertices):  # scattered along the bone to a child, 2 cm noise
        j = owner[v]
        child = joints[children[j][0]] if children[j] else joints[j] + np.array([0, 0.05, 0])
        vertices[v] = joints[j] + rng.uniform(0, 1) * (child - joints[j]) + rng.normal(0, 0.02, 3)

    if num_vertices == FULL_NUM_VERTICES:
        keypoint_ids = {name: SMPLX_VERTEX_IDS["smplx"][name] for name in _KEYPOINT_VERTICES}
    else:
        keypoint_ids = {name: 2 * NUM_JOINTS + i for i, name in enumerate(_KEYPOINT_VERTICES)}
    for name, (joint, offset) in _KEYPOINT_VERTICES.items():
        owner[keypoint_ids[name]] = joint
        vertices[keypoint_ids[name]] = joints[joint] + np.asarray(offset)

    reserved = set(keypoint_ids.values())
    free = [v for v in range(num_vertices) if v not in reserved]
    regressor = np.zeros((NUM_JOINTS, num_vertices))
    for j in range(NUM_JOINTS):  # two anchors straddling each joint, averaged by the regressor
        a, b = free[2 * j], free[2 * j + 1]
        owner[[a, b]] = j
        vertices[a], vertices[b] = joints[j] + [0.01, 0, 0], joints[j] - [0.01, 0, 0]
        regressor[j, [a, b]] = 0.5

    weights = np.zeros((num_vertices, NUM_JOINTS))
    weights[np.arange(num_vertices), owner] = 1.0
    faces = np.stack([rng.permutation(num_vertices)[:3] for _ in range(2 * num_vertices)]).astype(np.int64)
    kintree = np.stack([np.array([2**32 - 1] + parents[1:], dtype=np.int64), np.arange(NUM_JOINTS)])
    hands = np.linalg.qr(rng.normal(size=(45, 45)))[0]
    path = Path(directory) / "smplx" / "SMPLX_NEUTRAL.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        v_template=vertices.astype(np.float32),
        f=faces,
        J_regressor=regressor.astype(np.float32),
        weights=weights.astype(np.float32),
        kintree_table=kintree,
        shapedirs=(rng.normal(0, 0.01, (num_vertices, 3, num_shape))).astype(np.float32),
        posedirs=(rng.normal(0, 0.001, (num_vertices, 3, 9 * (NUM_JOINTS - 1)))).astype(np.float32),
        hands_componentsl=hands.astype(np.float32),
        hands_componentsr=hands.astype(np.float32),
        hands_meanl=np.zeros(45, np.float32),
        hands_meanr=np.zeros(45, np.float32),
        lmk_faces_idx=rng.integers(0, len(faces), 51),
        lmk_bary_coords=np.full((51, 3), 1 / 3, np.float32),
        dynamic_lmk_faces_idx=rng.integers(0, len(faces), (79, 17)),
        dynamic_lmk_bary_coords=np.full((79, 17, 3), 1 / 3, np.float32),
    )
    return path, keypoint_ids
