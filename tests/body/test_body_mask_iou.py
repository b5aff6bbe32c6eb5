"""The report's body-vs-mask check: person-views whose fitted body's silhouette IoU is low are listed."""

from __future__ import annotations

import numpy as np

from capture.report import LOW_IOU, low_body_views, silhouette_iou


def test_a_body_beside_its_mask_is_flagged():
    mask = np.zeros((40, 40), bool)
    mask[5:35, 15:25] = True  # the person's label in one view
    on_target = mask.copy()
    on_target[5:35, 24] = False  # a body a little narrower than the clothed person
    beside = np.roll(mask, 6, axis=1)  # a body fitted 6 px to the side
    ious = {3: {"cam00": {"all": 0.9, "0": 0.9, "body 0": silhouette_iou(on_target, mask)},
                "cam01": {"all": 0.9, "0": 0.9, "body 0": silhouette_iou(beside, mask)}}}  # fmt: skip
    assert ious[3]["cam00"]["body 0"] >= LOW_IOU > ious[3]["cam01"]["body 0"]
    assert low_body_views(ious) == ["frame 3 cam01 body 0"]
