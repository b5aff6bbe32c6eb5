"""Issue 5's done-when checks on full synthetic sequences (slow: minutes each; `make test-slow`).

3 people, 6 views (ring_rig(6)), 60 frames, the default simulated detector: zero id switches, triangulated
MPJPE <= 30 mm, fitted-body MPJPE <= 35 mm; the close-interaction sequence within 1.5x of those.
Figures of the last run are in docs/BENCHMARKS.md (## 4D body capture).
"""

from __future__ import annotations

import pytest

from multihuman_eval.body_capture import run_synthetic
from synth.body_capture import simulate_capture
from calibration.ring_rig import ring_rig

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("category", "factor"), [("natural", 1.0), ("close", 1.5)])
def test_three_people_six_views_sixty_frames(anny_body, category, factor):
    from synth.motion import make_motion

    motion = make_motion(anny_body, category, num_people=3, num_frames=60, seed=0)
    capture = simulate_capture(anny_body, motion.params, motion.present, ring_rig(6), seed=0)
    metrics = run_synthetic(anny_body, capture).metrics
    assert metrics.id_switches == 0 and metrics.num_tracks == 3, metrics
    assert metrics.triangulated_mpjpe_mm <= 30.0 * factor, metrics
    assert metrics.fitted_mpjpe_mm <= 35.0 * factor, metrics
