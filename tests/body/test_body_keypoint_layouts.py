"""Keypoint layouts: orders pinned against external sources, mappings and conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from body.errors import BodyModelError
from body.keypoint_layouts import CANONICAL_KEYPOINTS, LAYOUTS, convert_keypoints, get_layout, mapping_matrix

POSE2SIM = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pose2sim_demo"


def test_layout_sizes_and_edges_are_valid():
    sizes = {"coco17": 17, "body25": 25, "body25b": 25, "coco18": 18, "panoptic19": 19, "shelf14": 14}
    for name, size in sizes.items():
        layout = get_layout(name)
        assert len(layout) == size and len(set(layout.keypoints)) == size
        assert all(0 <= a < size and 0 <= b < size and a != b for a, b in layout.edges)
    assert get_layout("campus14") is LAYOUTS["shelf14"] and get_layout("BODY_25") is LAYOUTS["body25"]


def test_known_joint_positions():
    assert get_layout("body25").labels[1] == "Neck" and get_layout("body25").labels[8] == "MidHip"
    assert get_layout("body25").labels[24] == "RHeel" and get_layout("coco18").labels[17] == "LEar"
    assert get_layout("body25b").labels[17:19] == ("Neck", "Head")  # upper neck, head top
    assert get_layout("panoptic19").labels[2] == "bodyCenter"
    assert get_layout("shelf14").keypoints[12:] == ("upper_neck", "head_top")


@pytest.mark.skipif(not POSE2SIM.exists(), reason="shared Pose2Sim demo data (../shared/data) not present")
def test_body25b_matches_pose2sim_trc_markers_and_json():
    header = (POSE2SIM / "pose2sim_triangulated_reference_0-100.trc").read_text().splitlines()[3].split("\t")
    markers = [m for m in header[2:] if m.strip()]
    assert len(markers) == 21 and set(markers) <= set(get_layout("body25b").labels)
    first = sorted((POSE2SIM / "pose_openpose_json_BODY25B" / "cam01_json").glob("*.json"))[0]
    import json

    people = json.loads(first.read_text())["people"]
    assert len(people[0]["pose_keypoints_2d"]) == 3 * len(get_layout("body25b"))


def test_coco17_to_body25_derives_neck_and_mid_hip():
    rng = np.random.default_rng(0)
    coco = rng.normal(size=(2, 17, 3))
    conf = rng.uniform(0.5, 1.0, size=(2, 17))
    out, out_conf = convert_keypoints(coco, conf, "coco17", "body25")
    body25 = get_layout("body25")
    c17 = get_layout("coco17")
    neck = body25.index("neck")
    np.testing.assert_allclose(out[:, neck], 0.5 * (coco[:, c17.index("left_shoulder")] + coco[:, c17.index("right_shoulder")]))
    np.testing.assert_allclose(out_conf[:, neck], np.minimum(conf[:, 5], conf[:, 6]))
    assert (out_conf[:, body25.index("left_heel")] == 0).all()  # COCO-17 has no feet
    np.testing.assert_allclose(out[:, body25.index("nose")], coco[:, 0])


def test_round_trip_keeps_shared_joints():
    matrix, available = mapping_matrix("body25", "panoptic19")
    assert available.all()  # BODY_25 has everything Panoptic needs
    np.testing.assert_allclose(matrix.sum(1), 1.0)
    _, available = mapping_matrix("coco17", "shelf14")
    assert not available[-1] and not available[-2]  # no head top / upper neck in COCO


def test_missing_part_zeroes_derived_confidence():
    conf = np.ones(17)
    conf[5] = 0.0  # left shoulder missing
    _, out_conf = convert_keypoints(np.ones((17, 2)), conf, "coco17", "coco18")
    assert out_conf[get_layout("coco18").index("neck")] == 0.0


def test_errors_name_the_problem():
    with pytest.raises(BodyModelError, match="unknown keypoint layout"):
        get_layout("body_99")
    with pytest.raises(BodyModelError, match="expected keypoints"):
        convert_keypoints(np.zeros((18, 3)), np.zeros(18), "coco17", "body25")
    assert set(CANONICAL_KEYPOINTS) >= {k for layout in LAYOUTS.values() for k in layout.keypoints}
