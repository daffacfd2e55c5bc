"""Draw the attention of a trained MMPretrain model on images: input | map | overlay, as PNG.

Usage::

    python tools/visualize_attention.py CONFIG CHECKPOINT IMAGE_DIR_OR_FILES... --out-dir DIR \
        [--num-images N] [--size S] [--cam] [--boxes FILE] [--normalize]

Writes ``attention_grid.png`` (one row per image) and one ``panel_<index>_<name>.png`` per image
(image | map | overlay, as the training hook draws them) into ``--out-dir``. IB models
(``IBImageClassifier``, ``IBTimmClassifier``) give their ``attention_map``; any other model, or
any model with ``--cam``, gives Grad-CAM at the backbone's last stage (or ``--target-layer``).
Images go through the config's test pipeline (annotation loading dropped) or, with ``--size``,
a plain resize to S x S; then through the model's data preprocessor. Boxes (``--boxes``: lines
``<file name> <x1> <y1> <x2> <y2>`` in original-image pixels) are drawn in green when the
pipeline does not crop. Maps are shown on an absolute [0, 1] scale (comparable across images),
or min-max normalised per image with ``--normalize``. ``--cfg-options`` overrides the config
and ``--threads`` sets torch's thread count (default: torch's own), as in ``demo.py`` and
``benchmark.py`` (:mod:`aibtools.flags`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

from aibtools import flags

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
PACK_META_KEYS = ("sample_idx", "img_path", "ori_shape", "img_shape", "scale_factor")


class ToolError(Exception):
    """A problem with the tool's inputs, reported as ``error: ...`` with exit status 2."""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        description="Attention maps (IB attention or Grad-CAM) of a trained MMPretrain model.",
    )
    parser.add_argument("config", help="MMPretrain config file of the model")
    parser.add_argument("checkpoint", help="checkpoint (.pth) to load")
    parser.add_argument("images", nargs="+", help="image files and/or folders (searched deeply)")
    parser.add_argument("--out-dir", required=True, help="folder for the PNGs")
    parser.add_argument("--num-images", type=int, default=16, help="draw the first N images")
    parser.add_argument(
        "--size", type=int, default=None, help="resize inputs to S x S instead of the test pipeline"
    )
    parser.add_argument(
        "--cam", action="store_true", help="Grad-CAM instead of (or without) IB attention"
    )
    parser.add_argument(
        "--target-layer",
        default=None,
        help="module path for Grad-CAM (default: the backbone's last stage), e.g. backbone.layer4",
    )
    parser.add_argument("--boxes", default=None, help="file of '<name> x1 y1 x2 y2' lines")
    parser.add_argument(
        "--normalize", action="store_true", help="min-max normalise each map (default: absolute)"
    )
    parser.add_argument("--alpha", type=float, default=0.5, help="heat map weight in the overlay")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu", help="'cpu' or 'cuda'")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        default={},
        metavar="KEY=VALUE",
        help="config overrides of the model, e.g. model.neck.mc_samples=4",
    )
    flags.add_threads(parser)
    return parser.parse_args(argv)


def find_images(sources: Sequence[str], limit: int) -> list[Path]:
    """Image files named directly or found under folders, in order, at most ``limit``.

    Raises:
        ToolError: if a source does not exist or no image is found.
    """
    found: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        elif path.is_file():
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise ToolError(
                    f"{path} is not an image (expected one of {sorted(IMAGE_SUFFIXES)})"
                )
            found.append(path)
        else:
            raise ToolError(f"image path {path} does not exist")
    if not found:
        raise ToolError(
            f"no images found in {', '.join(sources)} (looked for {sorted(IMAGE_SUFFIXES)})"
        )
    return found[:limit]


def read_boxes(path: Optional[str]) -> dict[str, np.ndarray]:
    """``{file name or path: (x1, y1, x2, y2)}`` from a box file (empty without one)."""
    if path is None:
        return {}
    if not Path(path).is_file():
        raise ToolError(f"box file {path} does not exist")
    boxes = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        try:
            if len(fields) != 5:
                raise ValueError
            boxes[fields[0]] = np.asarray([float(v) for v in fields[1:]], dtype=np.float64)
        except ValueError:
            raise ToolError(
                f"{path} line {number}: expected '<name> x1 y1 x2 y2', got {line!r}"
            ) from None
    return boxes


def load_config(path: str, cfg_options: Optional[dict] = None):
    """Read an MMPretrain config, merge ``cfg_options`` and import its ``custom_imports``."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    if not Path(path).is_file():
        raise ToolError(f"config file {path} does not exist")
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(cfg_options or {})
    if cfg.get("custom_imports"):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get("default_scope", "mmpretrain"))
    return cfg


def build_model(cfg, checkpoint: str, device: str):
    """Build the config's model, load the checkpoint; return the model and the class names."""
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS

    model_cfg = cfg.model.copy()
    if cfg.get("data_preprocessor") is not None:  # as MMEngine's Runner does
        model_cfg.setdefault("data_preprocessor", cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    state = load_checkpoint(model, checkpoint, map_location="cpu", strict=True, logger="silent")
    model.to(device).eval()
    meta = state.get("meta", {}) if isinstance(state, dict) else {}
    classes = (meta.get("dataset_meta") or {}).get("classes")
    return model, (list(classes) if classes else None)


def has_attention(model: Any) -> bool:
    """Whether the model records an IB attention map (and so predicts ``attention_map``)."""
    from aib_plugin.mmpretrain import IBImageClassifier, IBTimmClassifier

    return isinstance(model, (IBImageClassifier, IBTimmClassifier))


def inference_pipeline(cfg, size: Optional[int]) -> list[dict]:
    """The transforms applied to each image file, ending with ``PackInputs``."""
    pack = dict(type="PackInputs", meta_keys=PACK_META_KEYS)
    if size is not None:
        return [dict(type="LoadImageFromFile"), dict(type="Resize", scale=(size, size)), pack]
    pipeline = None
    for loader in ("test_dataloader", "val_dataloader"):
        dataset = (cfg.get(loader) or {}).get("dataset")
        while isinstance(dataset, dict) and "pipeline" not in dataset and "dataset" in dataset:
            dataset = dataset["dataset"]  # dataset wrappers
        if isinstance(dataset, dict) and dataset.get("pipeline") is not None:
            pipeline = dataset["pipeline"]
            break
    pipeline = pipeline if pipeline is not None else cfg.get("test_pipeline")
    if not pipeline:
        raise ToolError(
            "the config has no test pipeline (test_dataloader.dataset.pipeline); pass --size S"
        )
    steps = [dict(t) for t in pipeline if not str(t.get("type", "")).startswith("LoadAnnotation")]
    if not str(steps[0].get("type", "")).startswith("LoadImage"):
        steps.insert(0, dict(type="LoadImageFromFile"))  # e.g. in-memory datasets
    if steps[-1].get("type") != "PackInputs":
        raise ToolError(f"the config's test pipeline ends with {steps[-1]}, not PackInputs")
    keys = tuple(steps[-1].get("meta_keys", ()))
    steps[-1]["meta_keys"] = keys + tuple(k for k in PACK_META_KEYS if k not in keys)
    return steps


def compute_maps(
    model: Any, items: list[dict], use_cam: bool, target_layer: Any
) -> tuple[list[np.ndarray], list[int]]:
    """Attention maps (or Grad-CAM maps) and predicted labels of a batch of pipeline outputs."""
    import torch
    from mmengine.dataset import pseudo_collate

    from aib_plugin.evaluation import grad_cam_maps

    data = model.data_preprocessor(pseudo_collate(items), False)
    with torch.no_grad():
        predictions = model(**data, mode="predict")
    labels = [int(p.pred_label) for p in predictions]
    if not use_cam:
        if not all("attention_map" in p for p in predictions):
            raise ToolError(
                f"{type(model).__name__} predictions carry no attention_map; pass --cam"
            )
        return [p.attention_map.float().cpu().numpy() for p in predictions], labels
    maps = grad_cam_maps(
        model, target_layer, data["inputs"], classes=labels, forward=lambda x: model(x, "tensor")
    )
    return list(maps), labels


def display_image(item: dict) -> np.ndarray:
    """The network's input image as RGB uint8 (H, W, 3) (``LoadImageFromFile`` gives BGR)."""
    image = item["inputs"].cpu().numpy().transpose(1, 2, 0)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., ::-1]).clip(0, 255).astype(np.uint8)


def box_on_input(item: dict, box: np.ndarray) -> np.ndarray:
    """Map a box from original-image pixels to the (resized, uncropped) input."""
    meta = item["data_samples"].metainfo
    ori_h, ori_w = meta["ori_shape"][:2]
    h, w = meta["img_shape"][:2]
    sx, sy = w / ori_w, h / ori_h
    return box * np.asarray([sx, sy, sx, sy])


def save_panel(panel: np.ndarray, box: Optional[np.ndarray], path: Path, min_size: int) -> None:
    """Write an image | map | overlay panel, enlarged to ``min_size`` rows, box in green."""
    import cv2

    width = panel.shape[1] // 3
    scale = max(1, -(-min_size // panel.shape[0]))
    panel = np.repeat(np.repeat(panel, scale, axis=0), scale, axis=1)
    if box is not None:
        x1, y1, x2, y2 = (float(v) * scale for v in box)
        for part in range(3):
            offset = part * width * scale
            cv2.rectangle(
                panel,
                (round(x1) + offset, round(y1)),
                (round(x2) + offset - 1, round(y2) - 1),
                (0, 255, 0),
                max(1, scale),
            )
    cv2.imwrite(str(path), cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool; returns the exit status (2 for bad inputs)."""
    args = parse_args(argv)
    try:
        paths = run(args)
    except ToolError as err:
        print(f"visualize_attention: error: {err}", file=sys.stderr)
        return 2
    print(f"[visualize_attention] grid: {paths[0]}")
    print(f"[visualize_attention] {len(paths) - 1} panels in {paths[0].parent}")
    return 0


def run(args: argparse.Namespace) -> list[Path]:
    """Do the work; return the grid path followed by the panel paths."""
    if args.num_images < 1:
        raise ToolError(f"--num-images must be >= 1, got {args.num_images}")
    if args.size is not None and args.size < 8:
        raise ToolError(f"--size must be >= 8 pixels, got {args.size}")
    if not Path(args.checkpoint).is_file():
        raise ToolError(f"checkpoint {args.checkpoint} does not exist")
    if not Path(args.config).is_file():
        raise ToolError(f"config file {args.config} does not exist")
    images = find_images(args.images, args.num_images)
    boxes = read_boxes(args.boxes)

    from mmengine.dataset import Compose

    import aib_plugin.mmpretrain  # noqa: F401  (safe loading of MMEngine checkpoints)
    from aib_plugin.evaluation import normalize_map, resize_map
    from aib_plugin.mmpretrain import attention_panel
    from aibtools.grid import Panel, draw_grid
    from aibtools.maps import last_stage

    if args.threads is not None and args.threads < 1:
        raise ToolError(f"--threads must be >= 1, got {args.threads}")
    flags.set_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options)
    model, classes = build_model(cfg, args.checkpoint, args.device)
    use_cam = args.cam or not has_attention(model)
    if use_cam and not args.cam:
        raise ToolError(
            f"the model of {args.config} ({type(model).__name__}) has no IB attention "
            "(neck=dict(type='IBAttention') or IBTimmClassifier); pass --cam for Grad-CAM"
        )
    target_layer = None
    if use_cam:
        if args.target_layer:
            try:
                target_layer = model.get_submodule(args.target_layer)
            except AttributeError:
                raise ToolError(f"the model has no module {args.target_layer!r}") from None
        else:
            target_layer = last_stage(model)
            if target_layer is None:
                raise ToolError("cannot find the backbone's last stage; pass --target-layer")

    steps = inference_pipeline(cfg, args.size)
    crops = any("Crop" in str(t.get("type", "")) for t in steps)
    if crops and boxes:
        print(
            "[visualize_attention] the test pipeline crops: boxes are not drawn (use --size S)",
            file=sys.stderr,
        )
    pipeline = Compose(steps)
    method = "Grad-CAM" if use_cam else "IB attention"
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    grid: list[list[Panel]] = []
    names: list[str] = []
    panel_paths: list[Path] = []
    for start in range(0, len(images), args.batch_size):
        batch_paths = images[start : start + args.batch_size]
        items = [
            pipeline(dict(img_path=str(p), sample_idx=start + i)) for i, p in enumerate(batch_paths)
        ]
        maps, labels = compute_maps(model, items, use_cam, target_layer)
        for index, (path, item, saliency, label) in enumerate(
            zip(batch_paths, items, maps, labels, strict=True), start=start
        ):
            image = display_image(item)
            saliency = resize_map(saliency, image.shape[:2])
            saliency = normalize_map(saliency) if args.normalize else np.clip(saliency, 0, 1)
            box = boxes.get(str(path), boxes.get(path.name))
            if box is not None and not crops:
                box = box_on_input(item, box)
            else:
                box = None
            panel = attention_panel(image, saliency, args.alpha)
            panel_path = out_dir / f"panel_{index:03d}_{path.stem}.png"
            save_panel(panel, box, panel_path, min_size=128)
            panel_paths.append(panel_path)
            pred = classes[label] if classes and label < len(classes) else str(label)
            overlay = Panel(image, saliency, args.alpha, box, f"pred: {pred}"[:32])
            grid.append([Panel(image, box=box), Panel(saliency=saliency), overlay])
            names.append(path.name[:24])
    grid_path = out_dir / "attention_grid.png"
    draw_grid(grid, ("input", method, "overlay"), names, grid_path, panel_inches=2.5, box_width=1.5)
    return [grid_path, *panel_paths]


if __name__ == "__main__":
    sys.exit(main())
