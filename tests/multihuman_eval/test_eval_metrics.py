"""Chamfer / P2S in cm after scaling the GT person to 1.80 m, against hand-computed values."""

import dataclasses

import numpy as np
import pytest

from multihuman_eval import (
    SurfaceMetricsConfig,
    evaluate_persons,
    evaluate_surface,
    gt_height,
    normalize_scale,
)
from render import Mesh, MeshError


def shifted(mesh: Mesh, offset) -> Mesh:
    return Mesh(mesh.vertices + np.asarray(offset, dtype=np.float64), mesh.faces)


def cube_shift_mean_distance(side: float, shift: float) -> float:
    """Mean distance from uniform points on a cube to a copy shifted by `shift` along one axis (shift < side).

    Per face of the cube (all six have the same area):
      the face left behind (x = 0): every point is `shift` from the copy's face x = shift;
      the leading face (x = side), now inside the copy: min(shift, distance to the face's border),
      whose mean over the square is the integral of P(border distance > t) = (1 - 2 t / side)^2 over [0, shift],
      i.e. side / 6 * (1 - (1 - 2 shift / side)^3);
      the four side faces: the strip x < shift sticks out by shift - x, mean shift^2 / (2 side), 0 elsewhere.
    """
    behind = shift
    leading = side / 6.0 * (1.0 - (1.0 - 2.0 * shift / side) ** 3)
    sides = 4.0 * shift**2 / (2.0 * side)
    return (behind + leading + sides) / 6.0


def test_mesh_against_itself_is_zero(make_sphere):
    person = make_sphere(0.4, center=(5.0, -3.0, 0.9), subdivisions=4)
    metrics = evaluate_surface(person, person)
    assert metrics.chamfer_cm < 1e-4
    assert metrics.p2s_rec_to_gt_cm < 1e-4 and metrics.p2s_gt_to_rec_cm < 1e-4


def test_concentric_spheres_differ_by_the_radius_difference(make_sphere):
    # GT radius 0.9 m is 1.80 m tall already (scale 1); the reconstruction is 1 cm smaller everywhere.
    metrics = evaluate_surface(make_sphere(0.89), make_sphere(0.9))
    assert metrics.scale_factor == pytest.approx(1.0)
    # Both icospheres have the same facets, so each direction is 1 cm up to facet tilt (< 0.02 %).
    assert metrics.p2s_rec_to_gt_cm == pytest.approx(1.0, abs=2e-3)
    assert metrics.p2s_gt_to_rec_cm == pytest.approx(1.0, abs=2e-3)
    assert metrics.chamfer_cm == pytest.approx(1.0, abs=2e-3)


def test_scaling_to_180_cm_multiplies_distances(make_sphere):
    # The same pair at half size: GT 0.9 m tall -> scale 2, so the 0.5 cm radius gap reads as 1 cm.
    metrics = evaluate_surface(make_sphere(0.445), make_sphere(0.45))
    assert metrics.gt_height_m == pytest.approx(0.9, rel=1e-9)
    assert metrics.scale_factor == pytest.approx(2.0, rel=1e-9)
    assert metrics.chamfer_cm == pytest.approx(1.0, abs=2e-3)


def test_cube_shifted_by_1cm_matches_the_exact_mean(make_box):
    side, shift = 1.8, 0.01  # 1.80 m tall: scale 1
    gt = make_box(side)
    metrics = evaluate_surface(shifted(gt, (shift, 0.0, 0.0)), gt)
    expected_cm = 100.0 * cube_shift_mean_distance(side, shift)
    assert expected_cm == pytest.approx(0.3333, abs=1e-4)  # about shift / 3, not shift
    # Per-point distances have std ~0.47 cm; 10,000 samples give a standard error ~0.005 cm per direction.
    assert metrics.p2s_rec_to_gt_cm == pytest.approx(expected_cm, abs=0.02)
    assert metrics.p2s_gt_to_rec_cm == pytest.approx(expected_cm, abs=0.02)
    assert metrics.chamfer_cm == pytest.approx(expected_cm, abs=0.015)


def test_sphere_shifted_by_1cm_reads_half_a_cm(make_sphere):
    # A point at angle theta from the shift direction is |d cos(theta)| away; the mean of |cos| on a sphere is 1/2.
    gt = make_sphere(0.9)
    metrics = evaluate_surface(shifted(gt, (0.0, 0.01, 0.0)), gt)
    assert metrics.chamfer_cm == pytest.approx(0.5, abs=0.015)


def test_p2s_directions_are_not_swapped(make_sphere, merge):
    # The reconstruction is the GT sphere plus a far blob (radius 0.2 m, centred 2 m away).
    gt = make_sphere(0.9)
    rec = merge(gt, make_sphere(0.2, center=(2.0, 0.0, 0.0)))
    metrics = evaluate_surface(rec, gt)
    # GT samples all lie on the reconstruction: the GT -> rec direction does not see the blob.
    assert metrics.p2s_gt_to_rec_cm < 1e-3
    # Blob samples are |p| - 0.9 m from the GT; the mean |p| over the blob is 2 + 0.2^2 / (3 * 2) m.
    blob_fraction = 0.2**2 / (0.2**2 + 0.9**2)
    expected_cm = 100.0 * blob_fraction * (2.0 + 0.2**2 / 6.0 - 0.9)
    assert metrics.p2s_rec_to_gt_cm == pytest.approx(expected_cm, rel=0.1)
    assert metrics.chamfer_cm == pytest.approx(0.5 * metrics.p2s_rec_to_gt_cm, rel=1e-3)


def test_normalize_scale_makes_the_gt_180_cm_tall_along_up():
    # A box 0.3 x 0.5 x 0.9 m (x, y, z), away from the origin; the reconstruction is a smaller box beside it.
    corners = np.array([[x, y, z] for x in (0, 0.3) for y in (0, 0.5) for z in (0, 0.9)]) + [4.0, 1.0, 0.2]
    faces = np.array([[0, 1, 2], [1, 3, 2], [4, 6, 5], [5, 6, 7]])
    gt, rec = Mesh(corners, faces), Mesh(0.5 * corners, faces)
    rec_scaled, gt_scaled, scale = normalize_scale(rec, gt)
    assert scale == pytest.approx(2.0)
    assert gt_height(gt_scaled) == pytest.approx(1.80)
    # Both meshes go through the same similarity transform: distances between them double.
    before = np.linalg.norm(rec.vertices[0] - gt.vertices[7])
    after = np.linalg.norm(rec_scaled.vertices[0] - gt_scaled.vertices[7])
    assert after == pytest.approx(2.0 * before)
    # Convention: the height is measured along `up`; a y-up reading of the same box gives 1.8 / 0.5.
    _, gt_y_up, scale_y_up = normalize_scale(rec, gt, up=(0.0, 1.0, 0.0))
    assert scale_y_up == pytest.approx(3.6)
    assert gt_height(gt_y_up, up=(0.0, 1.0, 0.0)) == pytest.approx(1.80)


def test_evaluate_persons_scales_each_person_by_its_own_height(make_sphere):
    gts = {0: make_sphere(0.9, center=(-2.0, 0.0, 0.9)), 7: make_sphere(0.45, center=(2.0, 0.0, 0.45))}
    recs = {0: make_sphere(0.89, center=(-2.0, 0.0, 0.9)), 7: make_sphere(0.445, center=(2.0, 0.0, 0.45))}
    results = evaluate_persons(recs, gts)
    assert list(results) == [0, 7]
    assert results[0].scale_factor == pytest.approx(1.0) and results[7].scale_factor == pytest.approx(2.0)
    for metrics in results.values():
        assert metrics.chamfer_cm == pytest.approx(1.0, abs=2e-3)


def test_evaluate_persons_names_missing_and_extra_ids(make_sphere):
    sphere = make_sphere(0.5, subdivisions=1)
    with pytest.raises(ValueError, match=r"missing \[2\], extra \[3\]"):
        evaluate_persons({1: sphere, 3: sphere}, {1: sphere, 2: sphere})


def test_config_is_reported_and_validated(make_sphere):
    sphere = make_sphere(0.9, subdivisions=2)
    metrics = evaluate_surface(sphere, sphere, SurfaceMetricsConfig(samples_per_mesh=123, seed=9))
    assert (metrics.samples_per_mesh, metrics.seed) == (123, 9)
    assert {f.name for f in dataclasses.fields(metrics)} >= {"chamfer_cm", "p2s_rec_to_gt_cm", "p2s_gt_to_rec_cm"}
    with pytest.raises(ValueError, match="samples_per_mesh: expected a positive integer, got 0"):
        SurfaceMetricsConfig(samples_per_mesh=0)
    with pytest.raises(ValueError, match="up: expected a non-zero 3-vector"):
        SurfaceMetricsConfig(up=(0.0, 0.0, 0.0))


def test_flat_gt_is_rejected():
    flat = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])
    with pytest.raises(MeshError, match="gt: expected a positive height along up"):
        evaluate_surface(flat, flat)


def test_an_empty_mesh_is_named_in_the_error(make_sphere):
    gt = make_sphere(0.9, subdivisions=2)
    no_faces = Mesh(gt.vertices, np.zeros((0, 3), dtype=np.int64))  # a failed reconstruction that kept vertices
    message = r"rec: expected a mesh with at least one face to sample, got Mesh\(162 vertices, 0 faces\)"
    with pytest.raises(MeshError, match=message):
        evaluate_surface(no_faces, gt)
    with pytest.raises(MeshError, match="gt: expected a mesh with at least one face to sample"):
        evaluate_surface(gt, no_faces)
    nothing = Mesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(MeshError, match=r"gt: expected a mesh with at least one vertex, got Mesh\(0 vertices"):
        evaluate_surface(gt, nothing)
