"""Depth, masks and triangle ids against Open3D's ray caster and against the projected geometry."""

from __future__ import annotations

import cv2
import numpy as np



def test_depth_matches_open3d_raycaster_within_1mm(scene, raycast):
    for v, camera in enumerate(scene.cameras):
        reference = raycast(scene.meshes, camera)
        both = scene.output.mask[v] & np.isfinite(reference["depth"])
        assert both.sum() > 500, camera.name
        error = np.abs(scene.output.depth[v][both] - reference["depth"][both])
        assert error.max() < 1e-3, (camera.name, error.max())
        # coverage agrees too (pixel centres, same rule up to exact ties on edges)
        union = scene.output.mask[v] | np.isfinite(reference["depth"])
        assert both.sum() / union.sum() > 0.995, camera.name


def test_mask_iou_with_projected_triangles(scene):
    """The mask agrees with the projected faces filled by OpenCV (which also fills touched edge pixels)."""
    for v, camera in enumerate(scene.cameras):
        drawn = np.zeros((camera.height, camera.width), np.uint8)
        shift = 8  # cv2 fixed-point sub-pixel bits
        for mesh in scene.meshes:
            uv = np.round(camera.project(mesh.vertices) * (1 << shift)).astype(np.int32)
            for triangle in uv[mesh.faces]:
                cv2.fillConvexPoly(drawn, triangle, 1, lineType=cv2.LINE_8, shift=shift)
        rendered, drawn = scene.output.mask[v], drawn > 0
        iou = (rendered & drawn).sum() / (rendered | drawn).sum()
        assert iou > 0.93, (camera.name, iou)
        # cv2 also fills pixels the outline merely touches: the rendered mask lies inside its fill, and the
        # fill inside the rendered mask grown by one pixel
        assert (rendered & ~drawn).sum() <= 0.002 * rendered.sum(), camera.name
        grown = cv2.dilate(rendered.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        assert (drawn & ~grown).sum() == 0, camera.name


def test_instance_ids_match_open3d_geometry_ids(scene, raycast):
    for v, camera in enumerate(scene.cameras):
        reference = raycast(scene.meshes, camera)
        both = scene.output.mask[v] & (reference["geometry_id"] >= 0)
        agree = scene.output.instance_id[v][both] == reference["geometry_id"][both]
        assert agree.mean() > 0.995, camera.name


def test_triangle_ids_give_the_ray_plane_depth(scene, pixel_rays, raycast):
    """Each pixel's (instance, triangle) names a face whose plane the pixel ray meets at the rendered depth."""
    for v, camera in enumerate(scene.cameras):
        out = scene.output
        ys, xs = np.nonzero(out.mask[v])
        origins, directions = pixel_rays(camera)
        o, d = origins[ys, xs], directions[ys, xs]
        corners = np.empty((len(ys), 3, 3))
        for instance, mesh in enumerate(scene.meshes):
            here = out.instance_id[v, ys, xs] == instance
            corners[here] = mesh.vertices[mesh.faces[out.triangle_id[v, ys[here], xs[here]]]]
        normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        t = np.einsum("ij,ij->i", normal, corners[:, 0] - o) / np.einsum("ij,ij->i", normal, d)
        assert np.abs(t - out.depth[v, ys, xs]).max() < 1e-4, camera.name
        # and the same face as Open3D wherever the pixel centre is not on a shared edge
        reference = raycast(scene.meshes, camera)
        same = (reference["primitive_id"][ys, xs] == out.triangle_id[v, ys, xs]) & (
            reference["geometry_id"][ys, xs] == out.instance_id[v, ys, xs]
        )
        assert same.mean() > 0.98, camera.name


def test_barycentric_interpolation_of_positions_lands_on_the_ray(scene, pixel_rays):
    """Perspective-correct barycentrics of the face corners reproduce the 3D point hit by the pixel ray."""
    out, v, camera = scene.output, 3, scene.cameras[3]
    ys, xs = np.nonzero(out.mask[v])
    origins, directions = pixel_rays(camera)
    expected = origins[ys, xs] + out.depth[v, ys, xs, None] * directions[ys, xs]
    points = np.empty_like(expected)
    for instance, mesh in enumerate(scene.meshes):
        here = out.instance_id[v, ys, xs] == instance
        corners = mesh.vertices[mesh.faces[out.triangle_id[v, ys[here], xs[here]]]]  # (P, 3, 3)
        points[here] = np.einsum("pk,pkj->pj", out.barycentric[v, ys[here], xs[here]], corners)
    assert np.allclose(out.barycentric[v][out.mask[v]].sum(-1), 1.0, atol=1e-5)
    assert np.abs(points - expected).max() < 1e-4
