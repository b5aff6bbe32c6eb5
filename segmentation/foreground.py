"""Foreground (people vs scene) of one view from the capture's masks, a background plate, a chroma key, or
GrabCut seeded by the projected bodies. Images are (H, W, 3) uint8 RGB; masks (H, W) bool.

- given masks: any non-zero pixel of the capture's mask file is foreground (binary or label maps).
- background plate: per-pixel colour difference to an image of the empty scene, tolerant of shadows (a pixel
  darker than the plate by a brightness factor in [`shadow_min`, 1] with the same chromaticity stays
  background) and of small highlights; then morphology.
- chroma key: pixels whose Lab chroma (a*, b*) is within `chroma_tolerance` of the key colour's, and that
  are not too dark for their chroma to mean anything, are background; then morphology.
- GrabCut (no masks, plate or key): OpenCV GrabCut initialised from the bodies: pixels well inside a body
  projection are sure foreground, within `probable_margin` metres of one probable foreground, within
  `search_margin` probable background, and the rest sure background. It runs on the searched region scaled down
  to at most `grabcut_max_side` pixels (its cost grows with the pixel count); the result is brought back to full
  resolution by a fast guided filter of the full-resolution image (edges follow the image, not the coarse grid).

Morphology (`clean_mask`): opening and closing with a small disc, holes smaller than `max_hole_area` pixels
filled (larger ones are gaps between limbs or people), components smaller than `min_area` pixels removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segmentation.errors import SegmentationError
from segmentation.projection import BodyFields

SOURCES = ("masks", "background", "chroma", "grabcut")
"""Names of the foreground sources, as recorded in a run's segmentation.json."""


@dataclass(frozen=True)
class ForegroundConfig:
    """Thresholds of the image-based foreground sources (colours in 0-255 units, distances in metres)."""

    difference_threshold: float = 30.0
    """Background plate: colour distance (RGB) above which a pixel that is not a shadow is foreground."""
    shadow_min: float = 0.45
    """Background plate: smallest brightness ratio pixel / plate still accepted as shadow."""
    shadow_chroma: float = 12.0
    """Background plate: largest colour distance to the brightness-scaled plate for a shadow or highlight."""
    chroma_tolerance: float = 28.0
    """Chroma key: largest Lab (a*, b*) distance to the key colour for background."""
    chroma_min_lightness: float = 12.0
    """Chroma key: pixels darker than this Lab L* (0-100) are foreground (their chroma is noise)."""
    morphology_px: int = 3
    """Disc diameter in pixels of the opening/closing."""
    min_area: int = 30
    """Smallest foreground component kept, pixels."""
    max_hole_area: int = 400
    """Largest hole (background enclosed by foreground) filled, pixels; larger holes are gaps between limbs or
    between people and stay background."""
    sure_inside: float = 0.03
    """GrabCut: pixels this deep inside a body projection (metres) are sure foreground."""
    probable_margin: float = 0.04
    """GrabCut: pixels within this distance of a body projection are probable foreground."""
    search_margin: float = 0.25
    """GrabCut: pixels within this distance are probable background; beyond, sure background."""
    grabcut_iterations: int = 2
    """GrabCut iterations (after the colour models are fitted to the seeds; more changed the IoU by < 0.001 on
    the HD benchmark scenes)."""
    grabcut_max_side: int = 360
    """GrabCut: the searched region is scaled down so that its longer side is at most this many pixels."""
    guided_eps: float = 1e-4
    """GrabCut upsampling: guided filter regularisation (image in 0-1 units; smaller follows edges more)."""


def _check_image(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise SegmentationError(f"argument '{name}': expected an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    return image


def clean_mask(mask: np.ndarray, morphology_px: int = 3, min_area: int = 30, max_hole_area: int = 400) -> np.ndarray:
    """(H, W) bool -> (H, W) bool after opening, closing, filling of holes up to `max_hole_area` pixels and removal
    of components smaller than `min_area` pixels."""
    mask = np.asarray(mask, bool).astype(np.uint8)
    if morphology_px > 1:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (morphology_px, morphology_px))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, disc)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, disc)
    count, components, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    mask = keep[components]
    # holes: background components of the inverted mask that do not touch the border
    count, holes, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
    is_hole = stats[:, cv2.CC_STAT_AREA] <= max_hole_area
    is_hole[border] = False
    is_hole[0] = False
    return mask | is_hole[holes]


def mask_from_file_image(mask_image: np.ndarray) -> np.ndarray:
    """Foreground of a capture's mask image (binary or label map, 1 or 3 channels): any non-zero pixel."""
    mask_image = np.asarray(mask_image)
    return (mask_image.reshape(*mask_image.shape[:2], -1) > 0).any(axis=-1)


def background_difference(image: np.ndarray, plate: np.ndarray, config: ForegroundConfig = ForegroundConfig()) -> np.ndarray:
    """(H, W) bool foreground of `image` against the empty-scene `plate` (both (H, W, 3) uint8 RGB).

    Brightness ratio alpha = <I, B> / <B, B>; a pixel is background if |I - B| is small, or if alpha is in
    [shadow_min, 1.15] and |I - alpha B| <= shadow_chroma (a shadow or highlight of the same surface).
    """
    image, plate = _check_image(image, "image"), _check_image(plate, "plate")
    if image.shape != plate.shape:
        raise SegmentationError(f"background_difference: argument 'plate': expected shape {image.shape}, got {plate.shape}")
    i, b = image.astype(np.float32), plate.astype(np.float32)
    alpha = (i * b).sum(-1) / np.maximum((b * b).sum(-1), 1.0)
    chroma = np.linalg.norm(i - alpha[..., None] * b, axis=-1)
    difference = np.linalg.norm(i - b, axis=-1)
    shadow = (alpha >= config.shadow_min) & (alpha <= 1.15) & (chroma <= config.shadow_chroma)
    foreground = (difference > config.difference_threshold) & ~shadow
    return clean_mask(foreground, config.morphology_px, config.min_area, config.max_hole_area)


def chroma_key(image: np.ndarray, key_rgb: tuple[int, int, int], config: ForegroundConfig = ForegroundConfig()) -> np.ndarray:
    """(H, W) bool foreground of `image` (H, W, 3) uint8 RGB shot against a screen of colour `key_rgb` (0-255)."""
    image = _check_image(image, "image")
    key = np.asarray(key_rgb, dtype=np.float64)
    if key.shape != (3,) or key.min() < 0 or key.max() > 255:
        raise SegmentationError(f"chroma_key: argument 'key_rgb': expected 3 values in 0-255, got {key_rgb!r}")
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)  # 8-bit Lab: L*255/100, a+128, b+128
    key_lab = cv2.cvtColor(key.astype(np.uint8)[None, None], cv2.COLOR_RGB2LAB).astype(np.float32)[0, 0]
    distance = np.linalg.norm(lab[..., 1:] - key_lab[1:], axis=-1)
    dark = lab[..., 0] * (100.0 / 255.0) < config.chroma_min_lightness
    foreground = (distance > config.chroma_tolerance) | dark
    return clean_mask(foreground, config.morphology_px, config.min_area, config.max_hole_area)


def grabcut_seeds(fields: BodyFields, focal: float, config: ForegroundConfig = ForegroundConfig()) -> np.ndarray:
    """(H, W) uint8 GrabCut mask (cv2.GC_FGD / GC_PR_FGD / GC_PR_BGD / GC_BGD) from the view's bodies."""
    distance = fields.distance.min(axis=0)
    inside = np.isfinite(fields.depth).any(axis=0)
    # depth of pixels inside a projection: metres per pixel there, to erode by `sure_inside` metres
    depth = np.where(inside, fields.depth.min(axis=0), 0.0)
    depth_inside = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 5) * depth / focal
    seeds = np.full(distance.shape, cv2.GC_BGD, np.uint8)
    seeds[distance <= config.search_margin] = cv2.GC_PR_BGD
    seeds[distance <= config.probable_margin] = cv2.GC_PR_FGD
    seeds[inside & (depth_inside >= config.sure_inside)] = cv2.GC_FGD
    return seeds


def grabcut_foreground(
    image: np.ndarray, fields: BodyFields, focal: float, config: ForegroundConfig = ForegroundConfig()
) -> np.ndarray:
    """(H, W) bool foreground from GrabCut seeded by the projected bodies (see `grabcut_seeds`).

    GrabCut runs on the bounding box of the searched region (plus a border of sure background), scaled down to
    `config.grabcut_max_side` pixels on its longer side when larger; a scaled result is brought back by the fast
    guided filter of the full-resolution crop (`upsample_mask`), keeping the full-resolution sure seeds. No body
    in the view: all background.
    """
    image = _check_image(image, "image")
    seeds = grabcut_seeds(fields, focal, config)
    foreground = np.zeros(seeds.shape, bool)
    searched = np.argwhere(seeds != cv2.GC_BGD)
    if len(searched) == 0:
        return foreground
    height, width = seeds.shape
    border = 8
    (y0, x0), (y1, x1) = np.maximum(searched.min(0) - border, 0), np.minimum(searched.max(0) + border + 1, (height, width))
    crop = np.ascontiguousarray(seeds[y0:y1, x0:x1])
    if not ((crop == cv2.GC_FGD) | (crop == cv2.GC_PR_FGD)).any() or (crop == cv2.GC_BGD).sum() + (crop == cv2.GC_PR_BGD).sum() == 0:
        return foreground
    bgr = np.ascontiguousarray(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2BGR))
    scale = min(1.0, config.grabcut_max_side / max(crop.shape))
    if scale == 1.0:
        foreground[y0:y1, x0:x1] = _grabcut(bgr, crop, config.grabcut_iterations)
    else:
        size = (max(round(crop.shape[1] * scale), 1), max(round(crop.shape[0] * scale), 1))
        small = _grabcut(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA),
                         cv2.resize(crop, size, interpolation=cv2.INTER_NEAREST), config.grabcut_iterations)  # fmt: skip
        refined = upsample_mask(small, bgr, config.guided_eps)
        foreground[y0:y1, x0:x1] = (refined | (crop == cv2.GC_FGD)) & (crop != cv2.GC_BGD)
    return clean_mask(foreground, config.morphology_px, config.min_area, config.max_hole_area)


def upsample_mask(mask: np.ndarray, guide: np.ndarray, eps: float = ForegroundConfig.guided_eps) -> np.ndarray:
    """(h, w) bool `mask` -> (H, W) bool at the size of `guide` ((H, W, 3) uint8 image of the same view) by a fast
    guided filter (He & Sun 2015): the filter's per-pixel linear model of the mask in the colours (window of
    5 x 5 coarse pixels, regularisation `eps` in 0-1 image units) is fitted at the mask's size on the guide
    resampled there, upsampled bilinearly and applied to the full-size guide; thresholded at 0.5, so that the
    edges follow the full-resolution image at the cost of the coarse one."""
    height, width = guide.shape[:2]
    colours = cv2.split(cv2.resize(guide, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0)
    target = mask.astype(np.float32)

    def mean(values: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(values, -1, (5, 5), borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = [mean(c) for c in colours], mean(target)
    u, v, w = (mean(c * target) - m * mean_p for c, m in zip(colours, mean_i))  # covariance of colour and mask
    xx, xy, xz, yy, yz, zz = (mean(colours[i] * colours[j]) - mean_i[i] * mean_i[j]
                              for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)))  # fmt: skip
    xx, yy, zz = xx + eps, yy + eps, zz + eps
    # linear model a = Sigma^-1 cov, b = mean_p - a . mean_i, with the symmetric 3 x 3 inverse by cofactors
    c_xx, c_xy, c_xz = yy * zz - yz * yz, xz * yz - xy * zz, xy * yz - xz * yy
    c_yy, c_yz, c_zz = xx * zz - xz * xz, xy * xz - xx * yz, xx * yy - xy * xy
    inverse_det = 1.0 / (xx * c_xx + xy * c_xy + xz * c_xz)
    a = [(c_xx * u + c_xy * v + c_xz * w) * inverse_det, (c_xy * u + c_yy * v + c_yz * w) * inverse_det,
         (c_xz * u + c_yz * v + c_zz * w) * inverse_det]  # fmt: skip
    b = mean_p - a[0] * mean_i[0] - a[1] * mean_i[1] - a[2] * mean_i[2]
    model = cv2.resize(mean(cv2.merge(a + [b])), (width, height), interpolation=cv2.INTER_LINEAR)
    # 255 (a . guide / 255 + b) as one weighted sum over the channels (R, G, B, 255)
    rgba = cv2.cvtColor(np.ascontiguousarray(guide), cv2.COLOR_RGB2RGBA).astype(np.float32)
    value = cv2.transform(cv2.multiply(model, rgba), np.ones((1, 4), np.float32))
    return value > 127.5


def _grabcut(bgr: np.ndarray, seeds: np.ndarray, iterations: int) -> np.ndarray:
    """(h, w) bool foreground of OpenCV GrabCut on `bgr` (h, w, 3) uint8 from the GrabCut mask `seeds` (h, w).
    Seeds without both a (probable) foreground and a (probable) background label are returned as they are."""
    mask = np.ascontiguousarray(seeds)
    wanted = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    if wanted.all() or not wanted.any():
        return wanted
    background_model, foreground_model = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global generator: same input, same output
    cv2.grabCut(bgr, mask, None, background_model, foreground_model, iterations, cv2.GC_INIT_WITH_MASK)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
