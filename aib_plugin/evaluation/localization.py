"""Localization scores of saliency maps (IB attention, CAM, Grad-CAM) against object boxes.

Conventions, the same for every kind of map so AIB and plain models compare fairly:

- A map is first resized (bilinear) to the image size, then min-max normalised to [0, 1]; a
  constant offset (such as a sigmoid attention's baseline) therefore carries no energy.
- Boxes are ``(x1, y1, x2, y2)`` in image pixels, ``x2``/``y2`` exclusive.
- Pointing game: the map's maximum lies inside the box.
- Energy in box (energy-based pointing game): share of the normalised map's mass inside the box.
- Box accuracy: threshold the normalised map, take the box around the largest connected region,
  count IoU >= 0.5 with the ground truth; the best accuracy over the thresholds is reported
  (as in weakly supervised localization).
- MaxBoxAccV2 (Choe et al., CVPR 2020, "Evaluating Weakly Supervised Object Localization Methods
  Right"; reference code clovaai/wsolevaluation): for each threshold ``tau`` of a fine grid
  (0, 0.01, ..., 0.99), the boxes around *all* contours of ``map >= tau`` (OpenCV's
  ``findContours``); an image counts at
  IoU ``delta`` if any of its boxes reaches ``delta``; the best ``tau`` is taken separately for
  ``delta`` = 0.3, 0.5 and 0.7, and the score is the mean of the three accuracies.
"""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

DEFAULT_THRESHOLDS = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2).tolist())
#: MaxBoxAccV2's thresholds: wsolevaluation's default grid (``cam_curve_interval=0.01``).
MAX_BOX_ACC_THRESHOLDS = tuple(np.round(np.arange(0.0, 1.0, 0.01), 2).tolist())
#: The IoU levels ``delta`` MaxBoxAccV2 averages over.
MAX_BOX_ACC_IOUS = (0.3, 0.5, 0.7)


class LocalizationScores(NamedTuple):
    """Scores over a set of maps (each a mean over images, in [0, 1]).

    ``best_threshold`` is where ``box_accuracy`` peaks; ``max_box_acc_v2`` is MaxBoxAccV2 as a
    fraction (see :func:`max_box_acc_v2`).
    """

    pointing_game: float
    energy_in_box: float
    box_accuracy: float
    best_threshold: float
    max_box_acc_v2: float
    num_images: int


def _as_2d(saliency: np.ndarray | torch.Tensor) -> np.ndarray:
    array = saliency.detach().float().cpu().numpy() if torch.is_tensor(saliency) else saliency
    array = np.asarray(array, dtype=np.float64)
    array = np.squeeze(array)
    if array.ndim != 2:
        raise ValueError(
            f"a saliency map must be 2-D (H, W) after squeezing, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError("a saliency map contains NaN or inf values")
    return array


def _check_box(box: Sequence[float], height: int, width: int) -> tuple[int, int, int, int]:
    if len(box) != 4:
        raise ValueError(f"a box must be (x1, y1, x2, y2), got {box!r}")
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    x1, y1 = max(x1, 0), max(y1, 0)
    x2, y2 = min(x2, width), min(y2, height)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box {tuple(box)} is empty inside an image of size {height}x{width}")
    return x1, y1, x2, y2


def resize_map(saliency: np.ndarray | torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Bilinearly resize a 2-D map to ``size = (height, width)``."""
    array = _as_2d(saliency)
    if array.shape == tuple(size):
        return array
    tensor = torch.from_numpy(array)[None, None]
    return F.interpolate(tensor, size=tuple(size), mode="bilinear", align_corners=False)[
        0, 0
    ].numpy()


def normalize_map(saliency: np.ndarray | torch.Tensor) -> np.ndarray:
    """Min-max normalise a 2-D map to [0, 1]; a constant map becomes all zeros."""
    array = _as_2d(saliency)
    low, high = array.min(), array.max()
    if high - low <= 1e-12:
        return np.zeros_like(array)
    return (array - low) / (high - low)


def pointing_hit(saliency: np.ndarray | torch.Tensor, box: Sequence[float]) -> bool:
    """Whether the map's maximum lies inside ``box`` (a constant map never hits)."""
    array = _as_2d(saliency)
    x1, y1, x2, y2 = _check_box(box, *array.shape)
    if array.max() - array.min() <= 1e-12:
        return False
    y, x = np.unravel_index(np.argmax(array), array.shape)
    return bool(x1 <= x < x2 and y1 <= y < y2)


class PointingMisses(NamedTuple):
    """Where a set of maps' maxima fall relative to their boxes, in pixels.

    Attributes:
        num_images: maps scored.
        hits: maxima inside the box (the pointing game's hits).
        near_misses: maxima outside the box but at most ``margin`` pixels from it.
        far_misses: the other maxima (and constant maps, which have none).
        mean_offset: mean ``(dx, dy)`` of the maximum from the box centre over the non-constant
            maps (positive: right of and below the centre).
    """

    num_images: int
    hits: int
    near_misses: int
    far_misses: int
    mean_offset: tuple[float, float]


def pointing_misses(
    maps: Sequence[np.ndarray | torch.Tensor],
    boxes: Sequence[Sequence[float]],
    image_size: tuple[int, int],
    margin: float,
) -> PointingMisses:
    """Split the pointing game's misses into near (within ``margin`` px of the box) and far.

    Maps are resized to ``image_size`` (H, W) as in :func:`score_maps`. A ``margin`` of one
    feature-map cell tells misses by one cell (the map's resolution) from maps that point
    elsewhere, and ``mean_offset`` shows whether the near misses lean one way.
    """
    if len(maps) != len(boxes):
        raise ValueError(f"got {len(maps)} maps but {len(boxes)} boxes")
    if margin < 0:
        raise ValueError(f"margin must be >= 0 pixels, got {margin}")
    hits = near = far = 0
    offsets = []
    for saliency, box in zip(maps, boxes, strict=True):
        array = resize_map(saliency, image_size)
        x1, y1, x2, y2 = _check_box(box, *array.shape)
        if array.max() - array.min() <= 1e-12:
            far += 1
            continue
        y, x = np.unravel_index(np.argmax(array), array.shape)
        offsets.append((x - (x1 + x2 - 1) / 2, y - (y1 + y2 - 1) / 2))
        distance = max(x1 - x, x - (x2 - 1), y1 - y, y - (y2 - 1))  # > 0 outside the box
        if distance <= 0:
            hits += 1
        elif distance <= margin:
            near += 1
        else:
            far += 1
    mean_offset = tuple(np.mean(offsets, axis=0).tolist()) if offsets else (0.0, 0.0)
    return PointingMisses(len(maps), hits, near, far, mean_offset)


#: Edges of the peak bins of :func:`pointing_by_peak` (a sigmoid map's maximum lies in [0, 1]).
DEFAULT_PEAK_EDGES = (0.0, 0.3, 0.6, 0.9, 1.0)


class PeakBin(NamedTuple):
    """The maps whose maximum lies in ``[low, high)`` (the last bin includes ``high``)."""

    low: float
    high: float
    num_images: int
    hits: int


def pointing_by_peak(
    maps: Sequence[np.ndarray | torch.Tensor],
    boxes: Sequence[Sequence[float]],
    image_size: tuple[int, int],
    edges: Sequence[float] = DEFAULT_PEAK_EDGES,
) -> list[PeakBin]:
    """The pointing game split by each map's own maximum, before any normalisation.

    For maps with a meaningful level, such as an attention mean in [0, 1]: a map that has faded
    (a low peak) still has an argmax after min-max normalisation, but it no longer says much.
    Maps are resized to ``image_size`` as in :func:`score_maps`; the peak is the unresized map's.
    """
    if len(maps) != len(boxes):
        raise ValueError(f"got {len(maps)} maps but {len(boxes)} boxes")
    edges = [float(e) for e in edges]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)):
        raise ValueError(f"edges must be at least two increasing values, got {edges}")
    counts = [[0, 0] for _ in edges[1:]]
    for saliency, box in zip(maps, boxes, strict=True):
        peak = float(_as_2d(saliency).max())
        if not edges[0] <= peak <= edges[-1]:
            raise ValueError(f"a map's maximum {peak:.4g} lies outside the edges {edges}")
        index = min(int(np.searchsorted(edges, peak, side="right")) - 1, len(counts) - 1)
        counts[index][0] += 1
        counts[index][1] += pointing_hit(resize_map(saliency, image_size), box)
    bounds = zip(edges[:-1], edges[1:], strict=True)
    return [PeakBin(lo, hi, n, h) for (lo, hi), (n, h) in zip(bounds, counts, strict=True)]


def shift_map(saliency: np.ndarray | torch.Tensor, dx: float, dy: float) -> np.ndarray:
    """Move a 2-D map by ``(dx, dy)`` pixels (bilinear; the border values extend inwards)."""
    array = _as_2d(saliency)
    height, width = array.shape
    xs = (torch.arange(width, dtype=torch.float64) - dx + 0.5) / width * 2 - 1
    ys = (torch.arange(height, dtype=torch.float64) - dy + 0.5) / height * 2 - 1
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)[None]
    moved = F.grid_sample(
        torch.from_numpy(array)[None, None],
        grid,
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )
    return moved[0, 0].numpy()


def energy_in_box(saliency: np.ndarray | torch.Tensor, box: Sequence[float]) -> float:
    """Share of the normalised map's mass inside ``box`` (0 for a constant map)."""
    array = normalize_map(saliency)
    x1, y1, x2, y2 = _check_box(box, *array.shape)
    total = array.sum()
    return 0.0 if total <= 0 else float(array[y1:y2, x1:x2].sum() / total)


def _largest_region_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    ys, xs = np.nonzero(labels == (np.argmax(sizes) + 1))
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_hits_per_threshold(
    saliency: np.ndarray | torch.Tensor,
    box: Sequence[float],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    iou_threshold: float = 0.5,
) -> np.ndarray:
    """For each threshold, whether the largest region of the thresholded map matches ``box``."""
    array = normalize_map(saliency)
    gt = _check_box(box, *array.shape)
    hits = np.zeros(len(thresholds), dtype=bool)
    if array.max() <= 0:
        return hits
    for t, threshold in enumerate(thresholds):
        pred = _largest_region_box(array >= threshold)
        hits[t] = pred is not None and _iou(pred, gt) >= iou_threshold
    return hits


def box_accuracy(
    maps: Sequence[np.ndarray | torch.Tensor],
    boxes: Sequence[Sequence[float]],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    iou_threshold: float = 0.5,
) -> tuple[float, float]:
    """Best share of maps whose thresholded largest region matches its box at IoU >= 0.5.

    Returns:
        ``(accuracy, threshold)``: the best accuracy over ``thresholds`` and where it was reached.
    """
    if len(maps) != len(boxes):
        raise ValueError(f"got {len(maps)} maps but {len(boxes)} boxes")
    if not maps:
        raise ValueError("box_accuracy needs at least one map")
    hits = np.mean(
        [
            box_hits_per_threshold(m, b, thresholds, iou_threshold)
            for m, b in zip(maps, boxes, strict=True)
        ],
        axis=0,
    )
    best = int(np.argmax(hits))
    return float(hits[best]), float(thresholds[best])


def _contour_boxes(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x1, y1, x2, y2)``, ``x2``/``y2`` exclusive, around every contour of ``mask``.

    As wsolevaluation: ``cv2.RETR_TREE`` (inner contours too) and ``cv2.CHAIN_APPROX_SIMPLE``.
    """
    try:
        import cv2
    except ImportError as error:  # the timm-only install has no OpenCV; mmengine brings it
        raise ImportError(
            "MaxBoxAccV2 needs OpenCV: pip install 'aib_plugin[mmpretrain]' (mmengine requires "
            "opencv-python) or pip install opencv-python-headless"
        ) from error
    contours = cv2.findContours(
        np.ascontiguousarray(mask, dtype=np.uint8), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE
    )[-2]  # OpenCV 3 returns (image, contours, hierarchy), later ones (contours, hierarchy)
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        boxes.append((x, y, x + w, y + h))
    return boxes


def _check_unit_values(name: str, values: Sequence[float], low_open: bool) -> tuple[float, ...]:
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError(f"{name} must name at least one value")
    low = "(0" if low_open else "[0"
    for v in values:
        if not (0.0 < v <= 1.0 if low_open else 0.0 <= v <= 1.0):
            raise ValueError(f"{name} must lie in {low}, 1], got {v}")
    return values


def box_ious_per_threshold(
    saliency: np.ndarray | torch.Tensor,
    box: Sequence[float],
    thresholds: Sequence[float] = MAX_BOX_ACC_THRESHOLDS,
) -> np.ndarray:
    """For each threshold ``tau``, the best IoU of ``box`` with the boxes around all contours of
    the normalised map's mask at ``tau`` (all 0 for a constant map, which localizes nothing).

    The mask is wsolevaluation's: the normalised map scaled to uint8 (``floor(255 map)``) and
    kept where it exceeds ``floor(255 tau)``, i.e. ``map >= tau`` up to the 1/255 steps, except
    that at ``tau = 0`` the (near-)zero pixels stay out and a sparse map does not get the whole
    image as a box for free. The map is not resized: it must be at the image's resolution. This
    is MaxBoxAccV2's per-image step; :func:`max_box_acc_v2` aggregates it.
    """
    array = normalize_map(saliency)
    gt = _check_box(box, *array.shape)
    thresholds = _check_unit_values("thresholds", thresholds, low_open=False)
    if array.max() <= 0:
        return np.zeros(len(thresholds), dtype=np.float64)
    scaled = (array * 255).astype(np.uint8)  # wsolevaluation's scoremap_image, once per map
    return np.array([_best_fit(scaled, gt, t)[0] for t in thresholds], np.float64)


def _best_fit(
    scaled: np.ndarray, gt: tuple[int, int, int, int], threshold: float
) -> tuple[float, tuple[int, int, int, int] | None]:
    """The contour box of the uint8 map's mask at ``threshold`` that fits ``gt`` best."""
    mask = scaled > int(threshold * 255)  # cv2.THRESH_BINARY keeps values above thresh
    scored = [(_iou(b, gt), b) for b in _contour_boxes(mask)]
    return max(scored, default=(0.0, None), key=lambda pair: pair[0])


def best_contour_box(
    saliency: np.ndarray | torch.Tensor, box: Sequence[float], threshold: float
) -> tuple[float, tuple[int, int, int, int] | None]:
    """At one threshold ``tau``: the box around a contour of the map's mask (as
    :func:`box_ious_per_threshold` builds it) that overlaps ``box`` best, and its IoU.

    Returns:
        ``(iou, (x1, y1, x2, y2))``; ``(0.0, None)`` when the mask has no contour (a constant
        map, or nothing above ``tau``).
    """
    array = normalize_map(saliency)
    gt = _check_box(box, *array.shape)
    (threshold,) = _check_unit_values("threshold", [threshold], low_open=False)
    if array.max() <= 0:
        return 0.0, None
    return _best_fit((array * 255).astype(np.uint8), gt, threshold)


class MaxBoxAccV2(NamedTuple):
    """MaxBoxAccV2 over a set of maps (fractions in [0, 1]).

    Attributes:
        score: the mean of ``accuracies``: MaxBoxAccV2.
        accuracies: for each IoU level, the best share of images matched over the thresholds.
        thresholds: for each IoU level, the threshold where that best share is reached.
        iou_thresholds: the IoU levels (0.3, 0.5, 0.7 by default).
        num_images: maps scored.
    """

    score: float
    accuracies: tuple[float, ...]
    thresholds: tuple[float, ...]
    iou_thresholds: tuple[float, ...]
    num_images: int


def max_box_acc_v2_from_ious(
    ious: np.ndarray,
    thresholds: Sequence[float] = MAX_BOX_ACC_THRESHOLDS,
    iou_thresholds: Sequence[float] = MAX_BOX_ACC_IOUS,
) -> MaxBoxAccV2:
    """MaxBoxAccV2 from per-image best IoUs, shape (N, len(thresholds)), as
    :func:`box_ious_per_threshold` returns them stacked."""
    ious = np.asarray(ious, dtype=np.float64)
    thresholds = _check_unit_values("thresholds", thresholds, low_open=False)
    iou_thresholds = _check_unit_values("iou_thresholds", iou_thresholds, low_open=True)
    if ious.ndim != 2 or ious.shape[0] == 0 or ious.shape[1] != len(thresholds):
        raise ValueError(
            f"ious must have shape (N >= 1, {len(thresholds)}) (one row per image, one column "
            f"per threshold), got {ious.shape}"
        )
    accuracies, best_thresholds = [], []
    for delta in iou_thresholds:
        per_threshold = np.mean(ious >= delta, axis=0)
        best = int(np.argmax(per_threshold))
        accuracies.append(float(per_threshold[best]))
        best_thresholds.append(thresholds[best])
    return MaxBoxAccV2(
        float(np.mean(accuracies)),
        tuple(accuracies),
        tuple(best_thresholds),
        iou_thresholds,
        int(ious.shape[0]),
    )


def max_box_acc_v2(
    maps: Sequence[np.ndarray | torch.Tensor],
    boxes: Sequence[Sequence[float]],
    thresholds: Sequence[float] = MAX_BOX_ACC_THRESHOLDS,
    iou_thresholds: Sequence[float] = MAX_BOX_ACC_IOUS,
) -> MaxBoxAccV2:
    """MaxBoxAccV2 (Choe et al., CVPR 2020) of maps at the images' resolution against their boxes.

    For each threshold ``tau`` the normalised map gives the mask ``map >= tau`` (computed as
    wsolevaluation does, see :func:`box_ious_per_threshold`); every contour of it
    (``cv2.findContours`` with ``RETR_TREE`` and ``CHAIN_APPROX_SIMPLE``, as wsolevaluation)
    gives a box (``cv2.boundingRect``), and an image counts at IoU ``delta`` if any of its boxes
    reaches ``delta``. The best ``tau`` is chosen separately for each ``delta``; the score is the
    mean of the per-``delta`` best accuracies.

    Differences from wsolevaluation: boxes are pixel-exact with ``x2``/``y2`` exclusive, as
    everywhere in this module (wsolevaluation takes ``x + w`` as an inclusive corner and adds 1 in
    its IoU, so its predicted boxes are one pixel wider and taller than the region); a constant
    map matches nothing; one ground-truth box per image; maps are not resized to 224x224.

    Args:
        maps: 2-D maps (H, W), each the size of its image (see :func:`score_maps` to resize).
        boxes: one ``(x1, y1, x2, y2)`` box per map.
        thresholds: the grid of ``tau`` (default ``0, 0.01, ..., 0.99``).
        iou_thresholds: the levels ``delta`` averaged over.
    """
    if len(maps) != len(boxes):
        raise ValueError(f"got {len(maps)} maps but {len(boxes)} boxes")
    if not maps:
        raise ValueError("max_box_acc_v2 needs at least one map")
    ious = [box_ious_per_threshold(m, b, thresholds) for m, b in zip(maps, boxes, strict=True)]
    return max_box_acc_v2_from_ious(np.stack(ious), thresholds, iou_thresholds)


def score_maps(
    maps: Sequence[np.ndarray | torch.Tensor],
    boxes: Sequence[Sequence[float]],
    image_size: tuple[int, int],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> LocalizationScores:
    """Resize every map to ``image_size`` (H, W) and compute all localization scores."""
    if len(maps) != len(boxes):
        raise ValueError(f"got {len(maps)} maps but {len(boxes)} boxes")
    resized = [resize_map(m, image_size) for m in maps]
    pointing = float(np.mean([pointing_hit(m, b) for m, b in zip(resized, boxes, strict=True)]))
    energy = float(np.mean([energy_in_box(m, b) for m, b in zip(resized, boxes, strict=True)]))
    accuracy, threshold = box_accuracy(resized, boxes, thresholds)
    return LocalizationScores(
        pointing_game=pointing,
        energy_in_box=energy,
        box_accuracy=accuracy,
        best_threshold=threshold,
        max_box_acc_v2=max_box_acc_v2(resized, boxes).score,
        num_images=len(resized),
    )
