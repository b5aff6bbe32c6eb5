"""render_views: one output per view at each camera's own size, equal to rendering that camera alone."""

import numpy as np

from render import render, render_views
from render.primitives import icosphere, look_at_camera


def test_views_of_mixed_sizes_match_rendering_each_camera_alone():
    cameras = [
        look_at_camera("square", (3.0, 0.0, 1.0), size=64),
        look_at_camera("large", (0.0, 3.0, 1.0), size=96),
        look_at_camera("square2", (-3.0, 0.0, 1.0), size=64),
    ]
    sphere = icosphere(0.5, center=(0.0, 0.0, 1.0))
    views = render_views(sphere, cameras, "instance_id")
    assert [view.shape for view in views] == [(64, 64), (96, 96), (64, 64)]
    for camera, view in zip(cameras, views):
        np.testing.assert_array_equal(view, render(sphere, [camera]).instance_id[0])
        assert (view == 0).sum() > 100
