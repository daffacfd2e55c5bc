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
"""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

DEFAULT_THRESHOLDS = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2).tolist())


class LocalizationScores(NamedTuple):
    """Scores over a set of maps (each a mean over images, in [0, 1])."""

    pointing_game: float
    energy_in_box: float
    box_accuracy: float
    best_threshold: float
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
    return LocalizationScores(pointing, energy, accuracy, threshold, len(resized))
