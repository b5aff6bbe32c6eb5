"""Foreground sources: background plate with shadows, chroma key, morphology, GrabCut seeded by a body."""

import cv2
import numpy as np
import pytest

from render import render
from render.primitives import capsule, look_at_camera
from segmentation.errors import SegmentationError
from segmentation.foreground import (
    ForegroundConfig,
    background_difference,
    chroma_key,
    clean_mask,
    grabcut_foreground,
    grabcut_seeds,
    mask_from_file_image,
    upsample_mask,
)
from segmentation.metrics import mask_iou
from segmentation.projection import body_fields, focal_px, render_person_depths
from synth.segmentation_scenes import textured_plate


def _person_mask(size=128):
    mask = np.zeros((size, size), bool)
    cv2.ellipse(mask.view(np.uint8), (64, 70), (18, 45), 0, 0, 360, 1, -1)
    cv2.circle(mask.view(np.uint8), (64, 20), 12, 1, -1)
    return mask


def test_background_difference_tolerates_shadows():
    rng = np.random.default_rng(0)
    plate = textured_plate(128, 128, rng)
    truth = _person_mask()
    image = plate.copy()
    image[truth] = (200, 60, 50)
    shadow = np.zeros_like(truth)
    shadow[100:125, 70:120] = True  # a soft shadow on the floor beside the person
    shadow &= ~truth
    image[shadow] = (image[shadow] * 0.6).astype(np.uint8)
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)  # sensor noise
    foreground = background_difference(image, plate)
    assert mask_iou(foreground, truth) > 0.95
    assert foreground[shadow].mean() < 0.05
    # without the shadow model the shadow counts as foreground
    naive = np.linalg.norm(image.astype(float) - plate.astype(float), axis=-1) > ForegroundConfig().difference_threshold
    assert naive[shadow].mean() > 0.5


def test_chroma_key_keeps_people_and_drops_the_screen():
    rng = np.random.default_rng(1)
    key = (0, 177, 64)
    image = np.clip(np.array(key)[None, None] * rng.uniform(0.7, 1.1, (128, 128, 1)), 0, 255).astype(np.uint8)
    truth = _person_mask()
    image[truth] = textured_plate(128, 128, rng)[truth] // 2 + 60  # a person in varied, non-green colours
    image[truth & (np.arange(128)[:, None] > 100)] = (20, 20, 25)  # dark trousers
    foreground = chroma_key(image, key)
    assert mask_iou(foreground, truth) > 0.95
    with pytest.raises(SegmentationError, match="key_rgb"):
        chroma_key(image, (0, 300, 0))


def test_clean_mask_fills_holes_and_drops_specks():
    mask = _person_mask()
    noisy = mask.copy()
    noisy[60:63, 60:63] = False  # a hole
    noisy[5, 120] = True  # a speck
    cleaned = clean_mask(noisy, morphology_px=3, min_area=10)
    assert cleaned[61, 61] and not cleaned[5, 120]
    assert mask_iou(cleaned, mask) > 0.97


def test_clean_mask_keeps_large_gaps_open():
    """A gap enclosed by foreground (between two people whose arms touch) is background, a small hole is not."""
    mask = np.zeros((100, 100), bool)
    mask[10:90, 10:30] = mask[10:90, 70:90] = mask[10:20, 10:90] = mask[80:90, 10:90] = True  # a frame around a gap
    mask[50:53, 20:23] = False  # a 9-pixel hole in one side
    cleaned = clean_mask(mask, morphology_px=1, min_area=10, max_hole_area=400)
    assert not cleaned[20:80, 30:70].any()  # the 2400-pixel gap stays open
    assert cleaned[50:53, 20:23].all()
    assert clean_mask(mask, morphology_px=1, min_area=10, max_hole_area=3000)[20:80, 30:70].all()


def test_upsampled_mask_follows_the_image_edges():
    """A 4x coarser mask brought back by `upsample_mask` is closer to the true edge than bilinear upsampling."""
    truth = np.zeros((240, 320), np.uint8)
    cv2.fillPoly(truth, [np.array([[40, 20], [290, 60], [200, 220], [30, 200]])], 1)
    image = np.where(truth[..., None] > 0, (200, 60, 50), (40, 120, 200)).astype(np.uint8)
    image = np.clip(image + np.random.default_rng(0).normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    coarse = cv2.resize(truth.astype(np.float32), (80, 60), interpolation=cv2.INTER_AREA) >= 0.5
    refined = upsample_mask(coarse, image)
    bilinear = cv2.resize(coarse.astype(np.float32), (320, 240), interpolation=cv2.INTER_LINEAR) >= 0.5
    assert refined.shape == (240, 320)
    assert mask_iou(refined, truth > 0) > 0.995 > mask_iou(bilinear, truth > 0)


def test_mask_files_any_nonzero_is_foreground():
    labels = np.array([[0, 3], [255, 0]], np.uint8)
    assert mask_from_file_image(labels).tolist() == [[False, True], [True, False]]
    assert mask_from_file_image(np.dstack([labels] * 3)).tolist() == [[False, True], [True, False]]


def test_grabcut_recovers_a_clothed_person_from_the_body(taichi_arch):
    camera = look_at_camera("front", (0.0, -3.0, 1.0), (0.0, 0.0, 0.9), size=128)
    body = capsule(0.14, 1.7, center=(0.0, 0.0, 0.85))
    clothed = capsule(0.19, 1.76, center=(0.0, 0.0, 0.88), color=(0.9, 0.3, 0.2))
    out = render([clothed], [camera])
    image = np.where(out.mask[0][..., None], (out.rgb[0] * 255).astype(np.uint8), textured_plate(128, 128, np.random.default_rng(2)))
    fields = body_fields(render_person_depths([body], [camera])[:, 0], focal_px(camera))
    seeds = grabcut_seeds(fields, focal_px(camera))
    assert {cv2.GC_BGD, cv2.GC_FGD, cv2.GC_PR_FGD, cv2.GC_PR_BGD} <= set(np.unique(seeds).tolist())
    foreground = grabcut_foreground(image, fields, focal_px(camera))
    body_only = np.isfinite(fields.depth[0])
    assert mask_iou(foreground, out.mask[0]) > 0.9
    assert mask_iou(foreground, out.mask[0]) > mask_iou(body_only, out.mask[0]) + 0.05


def test_grabcut_at_reduced_resolution_matches_full_resolution(taichi_arch):
    """The searched region scaled to 96 px (about 4x down) and brought back by the guided filter."""
    camera = look_at_camera("front", (0.0, -3.0, 1.0), (0.0, 0.0, 0.9), size=384)
    body = capsule(0.14, 1.7, center=(0.0, 0.0, 0.85))
    clothed = capsule(0.19, 1.76, center=(0.0, 0.0, 0.88), color=(0.9, 0.3, 0.2))
    out = render([clothed], [camera])
    plate = textured_plate(384, 384, np.random.default_rng(2))
    image = np.where(out.mask[0][..., None], (out.rgb[0] * 255).astype(np.uint8), plate)
    fields = body_fields(render_person_depths([body], [camera])[:, 0], focal_px(camera))
    full = grabcut_foreground(image, fields, focal_px(camera), ForegroundConfig(grabcut_max_side=4096))
    reduced = grabcut_foreground(image, fields, focal_px(camera), ForegroundConfig(grabcut_max_side=96))
    assert mask_iou(full, out.mask[0]) > 0.95
    assert mask_iou(reduced, out.mask[0]) > 0.95
    coarse_only = cv2.resize(cv2.resize(out.mask[0].astype(np.uint8), (96, 96), interpolation=cv2.INTER_AREA), (384, 384),
                             interpolation=cv2.INTER_NEAREST)  # fmt: skip
    assert mask_iou(reduced, out.mask[0]) > mask_iou(coarse_only > 0, out.mask[0])  # the refinement follows edges


def test_image_checks():
    with pytest.raises(SegmentationError, match=r"\(H, W, 3\) uint8"):
        background_difference(np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(SegmentationError, match="plate"):
        background_difference(np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8))
