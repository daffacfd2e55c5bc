"""Localization scores of saliency maps (IB attention, CAM, Grad-CAM) against object boxes.

Conventions, the same for every kind of map so AIB and plain models compare fairly:

- A map is first resized to the image size (bilinear by default, bicubic as an option), then
  min-max normalised to [0, 1]; a constant offset (such as a sigmoid attention's baseline)
  therefore carries no energy.
- Boxes are ``(x1, y1, x2, y2)`` in image pixels, ``x2``/``y2`` exclusive. Points are
  ``(x, y)`` in pixel-index coordinates: pixel ``(row, col)`` has its centre at
  ``(x, y) = (col, row)``.
- Pointing game: the map's maximum, located by :func:`locate_peak`, lies inside the box (or,
  with a tolerance, within that many pixels of it). By default the maximum is the centre of
  the peak cell of the map's own grid, mapped to image coordinates; ties are resolved to the
  centre of the largest connected region of maximal cells. Locating it on the upsampled map
  instead (``np.argmax``) is biased on coarse maps: the upsampled border cells are flat over
  their outer half, so a peak in a top-row or left-column cell lands on row 0 or column 0.
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

wsolevaluation's own conventions differ in two places and are options
(:data:`WSOLEVAL_CONVENTIONS`): bicubic upsampling (``cv2.resize`` with ``INTER_CUBIC``; here
torch's bicubic, which uses the same kernel, ``a = -0.75``, and the same half-pixel centres)
and a threshold grid of step 0.001 (``cam_curve_interval=0.001``).
"""

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
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
#: How a map is resized to the image: ``'bilinear'`` (the default) or ``'bicubic'``
#: (wsolevaluation's ``cv2.INTER_CUBIC``); both with half-pixel centres (``align_corners=False``).
UPSAMPLE_MODES = ("bilinear", "bicubic")
#: How :func:`locate_peak` finds a map's maximum (see there); ``'cell'`` is the default.
PEAK_RULES = ("cell", "upsampled", "argmax")
#: Values within this share of a map's range below its maximum count as maximal (ties).
PEAK_TIE_TOLERANCE = 1e-6
#: The keyword arguments of :func:`score_maps` (and of ``LocalizationMetric``) that give
#: wsolevaluation's conventions: ``score_maps(maps, boxes, size, **WSOLEVAL_CONVENTIONS)``.
WSOLEVAL_CONVENTIONS: Mapping[str, object] = MappingProxyType(
    {"upsample": "bicubic", "cam_curve_interval": 0.001}
)


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


class ScoringConventions(NamedTuple):
    """Validated scoring options shared by :func:`score_maps` and ``LocalizationMetric``.

    Attributes:
        upsample: how maps are resized to the image, one of :data:`UPSAMPLE_MODES`.
        peak: how the pointing game locates the maximum, one of :data:`PEAK_RULES`.
        pointing_tolerance: pixels from the box within which a maximum still hits.
        max_box_thresholds: MaxBoxAccV2's grid of ``tau``.
    """

    upsample: str
    peak: str
    pointing_tolerance: float
    max_box_thresholds: tuple[float, ...]


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def _check_tolerance(tolerance: float) -> float:
    tolerance = float(tolerance)
    if not tolerance >= 0 or not math.isfinite(tolerance):
        raise ValueError(
            f"the pointing tolerance must be a finite number >= 0 pixels, got {tolerance}"
        )
    return tolerance


def max_box_acc_thresholds(cam_curve_interval: float = 0.01) -> tuple[float, ...]:
    """MaxBoxAccV2's grid ``0, interval, 2 interval, ...`` below 1, as wsolevaluation builds it
    (``np.arange(0, 1, cam_curve_interval)``); 0.01 gives :data:`MAX_BOX_ACC_THRESHOLDS`, 0.001
    wsolevaluation's finer curve."""
    interval = float(cam_curve_interval)
    if not 0.0 < interval < 1.0:
        raise ValueError(f"cam_curve_interval must lie in (0, 1), got {cam_curve_interval}")
    grid = np.round(np.arange(0.0, 1.0, interval), 12)
    return tuple(float(t) for t in grid if t < 1.0)


def scoring_conventions(
    upsample: str = "bilinear",
    peak: str = "cell",
    pointing_tolerance: float = 0.0,
    cam_curve_interval: float = 0.01,
) -> ScoringConventions:
    """Validate the options of :func:`score_maps` (see there) into one record.

    Raises:
        ValueError: naming the bad value and what is allowed.
    """
    return ScoringConventions(
        _check_choice("upsample", upsample, UPSAMPLE_MODES),
        _check_choice("peak", peak, PEAK_RULES),
        _check_tolerance(pointing_tolerance),
        max_box_acc_thresholds(cam_curve_interval),
    )


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


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    size = tuple(size)
    if len(size) != 2 or any(int(v) != v or v < 1 for v in size):
        raise ValueError(f"an image size must be (height, width) in whole pixels >= 1, got {size}")
    return int(size[0]), int(size[1])


def _check_box(box: Sequence[float], height: int, width: int) -> tuple[int, int, int, int]:
    if len(box) != 4:
        raise ValueError(f"a box must be (x1, y1, x2, y2), got {box!r}")
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    x1, y1 = max(x1, 0), max(y1, 0)
    x2, y2 = min(x2, width), min(y2, height)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box {tuple(box)} is empty inside an image of size {height}x{width}")
    return x1, y1, x2, y2


def resize_map(
    saliency: np.ndarray | torch.Tensor, size: tuple[int, int], mode: str = "bilinear"
) -> np.ndarray:
    """Resize a 2-D map to ``size = (height, width)``.

    Args:
        saliency: the map (H, W).
        size: the target ``(height, width)``.
        mode: one of :data:`UPSAMPLE_MODES`; ``'bicubic'`` matches OpenCV's ``INTER_CUBIC``
            (wsolevaluation's resize) and may overshoot the map's range slightly.
    """
    _check_choice("upsample", mode, UPSAMPLE_MODES)
    array = _as_2d(saliency)
    size = _check_size(size)
    if array.shape == size:
        return array
    tensor = torch.from_numpy(array)[None, None]
    return F.interpolate(tensor, size=size, mode=mode, align_corners=False)[0, 0].numpy()


def normalize_map(saliency: np.ndarray | torch.Tensor) -> np.ndarray:
    """Min-max normalise a 2-D map to [0, 1]; a constant map becomes all zeros."""
    array = _as_2d(saliency)
    low, high = array.min(), array.max()
    if high - low <= 1e-12:
        return np.zeros_like(array)
    return (array - low) / (high - low)


def _centre_of_maximum(array: np.ndarray) -> tuple[float, float]:
    """``(x, y)`` on the array's grid: the centre of the largest connected region of maxima."""
    low, high = array.min(), array.max()
    labels, _ = ndimage.label(array >= high - PEAK_TIE_TOLERANCE * (high - low))
    largest = int(np.argmax(np.bincount(labels.ravel())[1:])) + 1  # ties: first in raster order
    ys, xs = np.nonzero(labels == largest)
    return float(xs.mean()), float(ys.mean())


def locate_peak(
    saliency: np.ndarray | torch.Tensor,
    image_size: tuple[int, int] | None = None,
    peak: str = "cell",
    upsample: str = "bilinear",
) -> tuple[float, float] | None:
    """Where a map's maximum lies in the image: ``(x, y)`` in pixel-index coordinates.

    The one place every pointing score of this module locates a maximum. Rules:

    - ``'cell'`` (default): on the map's own grid, the centre of the largest connected region
      of maximal cells (a single peak cell: that cell), mapped to the image: cell ``(i, j)`` of
      an ``h x w`` map covers ``[j W / w, (j + 1) W / w)`` horizontally, so its centre is
      ``x = (j + 0.5) W / w - 0.5``. The same geometry as upsampling with half-pixel centres,
      without the flat border half-cells upsampling creates. On a map at the image's
      resolution it is the maximal pixel (ties: the centre of their region).
    - ``'upsampled'``: the map is resized to the image with ``upsample`` first, then the same
      centre-of-the-maximal-region rule per pixel. A border cell's maximum is then the centre of
      its flat outer half, a quarter cell from the image border.
    - ``'argmax'``: the first maximal pixel (``np.argmax``) of the resized map: biased towards
      row 0 and column 0 on coarse maps; for comparison with results scored that way.

    Args:
        saliency: a 2-D map, at any resolution.
        image_size: ``(height, width)`` of the image; default the map's own size.
        peak: one of :data:`PEAK_RULES`.
        upsample: one of :data:`UPSAMPLE_MODES` (used by ``'upsampled'`` and ``'argmax'``).

    Returns:
        ``(x, y)`` (floats, possibly between pixels), or ``None`` for a constant map.
    """
    _check_choice("peak", peak, PEAK_RULES)
    _check_choice("upsample", upsample, UPSAMPLE_MODES)
    array = _as_2d(saliency)
    size = array.shape if image_size is None else _check_size(image_size)
    if array.max() - array.min() <= 1e-12:
        return None
    if peak != "cell":
        array = resize_map(array, size, upsample)
        if peak == "argmax":
            y, x = np.unravel_index(np.argmax(array), array.shape)
            return float(x), float(y)
    x, y = _centre_of_maximum(array)
    scale_y, scale_x = size[0] / array.shape[0], size[1] / array.shape[1]
    return (x + 0.5) * scale_x - 0.5, (y + 0.5) * scale_y - 0.5


def _pixel_offsets(point: tuple[float, float], box: tuple[int, int, int, int]) -> tuple[int, int]:
    """Pixels from the pixel holding ``point`` to the box along x and y (0 inside)."""
    x1, y1, x2, y2 = box
    px, py = math.floor(point[0] + 0.5), math.floor(point[1] + 0.5)
    return max(x1 - px, 0, px - (x2 - 1)), max(y1 - py, 0, py - (y2 - 1))


def pointing_hit(
    saliency: np.ndarray | torch.Tensor,
    box: Sequence[float],
    image_size: tuple[int, int] | None = None,
    peak: str = "cell",
    upsample: str = "bilinear",
    tolerance: float = 0.0,
) -> bool:
    """Whether the map's maximum lies inside ``box`` (a constant map never hits).

    Args:
        saliency: a 2-D map, at any resolution.
        box: ``(x1, y1, x2, y2)`` in image pixels.
        image_size: ``(height, width)`` of the image ``box`` refers to; default the map's size.
        peak: how the maximum is located (see :func:`locate_peak`).
        upsample: how the map is resized, for the ``'upsampled'`` and ``'argmax'`` rules.
        tolerance: also count a maximum whose pixel lies within this Euclidean distance (in
            pixels) of a box pixel, as Zhang et al. ("Top-down neural attention by excitation
            backprop") do with 15 px at ImageNet scale; 0 (the default) asks for the box itself.
    """
    tolerance = _check_tolerance(tolerance)
    height, width = _as_2d(saliency).shape if image_size is None else _check_size(image_size)
    checked = _check_box(box, height, width)
    point = locate_peak(saliency, (height, width), peak, upsample)
    if point is None:
        return False
    return math.hypot(*_pixel_offsets(point, checked)) <= tolerance


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
    peak: str = "cell",
    upsample: str = "bilinear",
) -> PointingMisses:
    """Split the pointing game's misses into near (within ``margin`` px of the box) and far.

    Each map's maximum is located in the ``image_size`` (H, W) image by :func:`locate_peak`
    (``peak`` and ``upsample`` as there), as in :func:`score_maps`; the distance to the box is
    the larger of the x and y pixel gaps. A ``margin`` of one feature-map cell tells misses by
    one cell (the map's resolution) from maps that point elsewhere, and ``mean_offset`` shows
    whether the near misses lean one way. Pass the maps at their own resolution: a map already
    upsampled to the image loses the cell geometry the default rule uses.
    """
    if len(maps) != len(boxes):
        raise ValueError(f"got {len(maps)} maps but {len(boxes)} boxes")
    if margin < 0:
        raise ValueError(f"margin must be >= 0 pixels, got {margin}")
    size = _check_size(image_size)
    hits = near = far = 0
    offsets = []
    for saliency, box in zip(maps, boxes, strict=True):
        x1, y1, x2, y2 = checked = _check_box(box, *size)
        point = locate_peak(saliency, size, peak, upsample)
        if point is None:
            far += 1
            continue
        offsets.append((point[0] - (x1 + x2 - 1) / 2, point[1] - (y1 + y2 - 1) / 2))
        distance = max(_pixel_offsets(point, checked))
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
    peak: str = "cell",
    upsample: str = "bilinear",
) -> list[PeakBin]:
    """The pointing game split by each map's own maximum, before any normalisation.

    For maps with a meaningful level, such as an attention mean in [0, 1]: a map that has faded
    (a low peak) still has an argmax after min-max normalisation, but it no longer says much.
    Hits are :func:`pointing_hit`'s in the ``image_size`` image (``peak`` and ``upsample`` as
    there); the peak value is the unresized map's.
    """
    if len(maps) != len(boxes):
        raise ValueError(f"got {len(maps)} maps but {len(boxes)} boxes")
    edges = [float(e) for e in edges]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)):
        raise ValueError(f"edges must be at least two increasing values, got {edges}")
    counts = [[0, 0] for _ in edges[1:]]
    for saliency, box in zip(maps, boxes, strict=True):
        top = float(_as_2d(saliency).max())
        if not edges[0] <= top <= edges[-1]:
            raise ValueError(f"a map's maximum {top:.4g} lies outside the edges {edges}")
        index = min(int(np.searchsorted(edges, top, side="right")) - 1, len(counts) - 1)
        counts[index][0] += 1
        counts[index][1] += pointing_hit(saliency, box, image_size, peak, upsample)
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
    levels = [_uint8_level(t) for t in thresholds]  # a fine grid repeats levels: score each once
    best = {level: _best_fit(scaled, gt, level)[0] for level in set(levels)}
    return np.array([best[level] for level in levels], np.float64)


def _uint8_level(threshold: float) -> int:
    """wsolevaluation's ``cv2.threshold`` value for ``tau`` on a map scaled to 0..255."""
    return int(threshold * 255)


def _best_fit(
    scaled: np.ndarray, gt: tuple[int, int, int, int], level: int
) -> tuple[float, tuple[int, int, int, int] | None]:
    """The contour box of the uint8 map's mask above ``level`` that fits ``gt`` best."""
    mask = scaled > level  # cv2.THRESH_BINARY keeps values above thresh
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
    return _best_fit((array * 255).astype(np.uint8), gt, _uint8_level(threshold))


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
        thresholds: the grid of ``tau`` (default ``0, 0.01, ..., 0.99``;
            ``max_box_acc_thresholds(0.001)`` gives wsolevaluation's finer grid).
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
    upsample: str = "bilinear",
    peak: str = "cell",
    pointing_tolerance: float = 0.0,
    cam_curve_interval: float = 0.01,
) -> LocalizationScores:
    """Resize every map to ``image_size`` (H, W) and compute all localization scores.

    The defaults are this project's conventions; ``**WSOLEVAL_CONVENTIONS`` selects
    wsolevaluation's (bicubic, ``cam_curve_interval=0.001``).

    Args:
        maps: 2-D maps, each at any resolution (typically the feature map's).
        boxes: one ``(x1, y1, x2, y2)`` box per map, in image pixels.
        image_size: ``(height, width)`` of the images.
        thresholds: thresholds tried for box accuracy.
        upsample: how maps are resized for energy, box accuracy and MaxBoxAccV2, one of
            :data:`UPSAMPLE_MODES`.
        peak: how the pointing game locates the maximum, one of :data:`PEAK_RULES` (see
            :func:`locate_peak`); the default ``'cell'`` reads the maps at their own resolution.
        pointing_tolerance: pixels from the box within which a maximum still hits (see
            :func:`pointing_hit`); 0 by default.
        cam_curve_interval: the step of MaxBoxAccV2's threshold grid (see
            :func:`max_box_acc_thresholds`).
    """
    options = scoring_conventions(upsample, peak, pointing_tolerance, cam_curve_interval)
    if len(maps) != len(boxes):
        raise ValueError(f"got {len(maps)} maps but {len(boxes)} boxes")
    if not maps:
        raise ValueError("score_maps needs at least one map")
    size = _check_size(image_size)
    pointing = float(
        np.mean(
            [
                pointing_hit(m, b, size, options.peak, options.upsample, options.pointing_tolerance)
                for m, b in zip(maps, boxes, strict=True)
            ]
        )
    )
    resized = [resize_map(m, size, options.upsample) for m in maps]
    energy = float(np.mean([energy_in_box(m, b) for m, b in zip(resized, boxes, strict=True)]))
    accuracy, threshold = box_accuracy(resized, boxes, thresholds)
    return LocalizationScores(
        pointing_game=pointing,
        energy_in_box=energy,
        box_accuracy=accuracy,
        best_threshold=threshold,
        max_box_acc_v2=max_box_acc_v2(resized, boxes, options.max_box_thresholds).score,
        num_images=len(resized),
    )
