"""Where do a trained model's maps miss the object? The pointing game's misses, by kind.

    python projects/aib_studies/tools/pointing_misses.py outputs/demo/plain outputs/demo/aib

Each argument is the work dir of a run on a dataset with boxes (a demo model, or
``tools/train.py`` on cluttered digits or CUB with boxes): its dumped config and last checkpoint.
On the test split it scores the model's maps (the IB attention if the model has one, and
Grad-CAM of the backbone's last stage) and prints one line per map: the pointing game, the misses
within one feature-map cell of the box and those farther away, the mean offset of the map's
maximum from the box centre, and the pointing game with every map moved half a cell up and left.

That last column tests one cause of near misses in sharp maps: a stride-2 convolution with
"same" padding centres output pixel ``i`` on input pixel ``2 i``, so cell ``j`` of a stride-``S``
map is centred on image pixel ``S j``, while the usual (centre-aligned) upsampling draws it at
``S j + (S - 1) / 2``. A map that peaks on the cell centred on the object then lands half a cell
down and right of it. It is a diagnosis, not a correction: the demo's metric keeps the usual
upsampling (as Grad-CAM tools do), the same for every model.

A second table splits the IB attention's pointing game by each map's own peak (``max mu_a``,
before normalisation): maps that have faded (a low peak) point at the object less often.

A third table asks why MaxBoxAccV2 misses (the coverage): its accuracy at each IoU level, and at
the threshold that is best for IoU 0.5, how the best box around a contour of the map compares
with the object's box (the median of their areas' ratio: below 1, the map's region is smaller
than the object; the median IoU), and MaxBoxAccV2 with the maps moved half a cell up-left.

A fourth table measures that geometry on the trained model instead of arguing it: the effective
receptive-field centre of each interior cell of the last stage's input (where the paper's
placement puts the attention) and of its output (the Grad-CAM layer), the centre of mass of the
input gradient of the cell's summed features, against where the usual upsampling draws the
cell. The offset of a map's maximum from the box centre plus its layer's receptive-field offset
(the maximum's cell moved to its receptive-field centre) is where the map peaks in the network's
own geometry.

A fifth table asks what each map follows: its energy in box and pointing game beside those of
the image's own ink averaged over the cells of the map's grid (:func:`aibtools.maps.ink_map`: a
map that knows where ink is, the object's and the clutter's alike, not which is the object), and
the map's Pearson correlation with that ink, the mean over the test images.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

# the shared library of the repository's tools, tools/aibtools, as `python tools/<name>.py` has it
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from aibtools import flags  # noqa: E402
from aibtools.maps import (  # noqa: E402
    collect_maps,
    ink_map,
    last_stage,
    map_correlation,
    token_layout,
)
from aibtools.tables import markdown_table  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    flags.add_threads(parser)
    parser.add_argument("work_dirs", nargs="+", help="run folders: dumped config + checkpoint")
    args = parser.parse_args(argv)
    for work_dir in args.work_dirs:
        try:
            find_run(Path(work_dir))
        except FileNotFoundError as error:
            parser.error(str(error))
    return args


def find_run(work_dir: Path) -> tuple[Path, Path]:
    """The dumped config and the last checkpoint of a run folder.

    Raises:
        FileNotFoundError: if either is missing or the config is ambiguous.
    """
    configs = sorted(work_dir.glob("*.py"))
    if len(configs) != 1:
        raise FileNotFoundError(
            f"{work_dir}: expected one dumped config (*.py) in the run folder, found "
            f"{[c.name for c in configs]}"
        )
    pointer = work_dir / "last_checkpoint"
    if not pointer.is_file():
        raise FileNotFoundError(f"{work_dir}: no last_checkpoint file (is the run finished?)")
    checkpoint = Path(pointer.read_text().strip())
    if not checkpoint.is_file():
        checkpoint = work_dir / checkpoint.name  # the folder was moved after training
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{work_dir}: the last checkpoint {checkpoint.name} is missing")
    return configs[0], checkpoint


def cell_size(runner, image: torch.Tensor) -> int:
    """Pixels per cell of the last stage (the image width over the feature map's width; over
    the patch grid's width for a token backbone, whose stages output (B, N, C) tokens)."""
    layout = token_layout(runner.model)
    if layout is not None:
        return image.shape[-1] // layout[1][1]
    shapes = []
    handle = last_stage(runner.model).register_forward_hook(
        lambda module, inputs, output: shapes.append(output.shape)
    )
    with torch.no_grad():
        runner.model(image[None], mode="tensor")
    handle.remove()
    return image.shape[-1] // shapes[0][-1]


def receptive_field_offsets(runner, images: torch.Tensor) -> dict[str, tuple[float, float]]:
    """Mean offset (x, y) in px of the cells' effective receptive-field centres from their drawn
    centres, at the last stage's ``'input'`` and ``'output'``.

    For each cell not on the map's border (padding pulls those inward), the centre of mass of
    ``|d sum_c F[c, i, j] / d image|`` over the image (summed over colour channels and over
    ``images``, the model in eval mode), less ``(S j + (S - 1) / 2, S i + (S - 1) / 2)``, where
    the usual upsampling draws cell ``(i, j)`` of a stride-``S`` map.

    Raises:
        ValueError: if the last stage's input or output is not a (B, C, H, W) map (a ViT's
            tokens) or is smaller than 3 x 3 (no interior cell).
    """
    stage = last_stage(runner.model)
    features: dict[str, torch.Tensor] = {}
    handles = [
        stage.register_forward_pre_hook(lambda module, args: features.update(input=args[0])),
        stage.register_forward_hook(lambda module, args, out: features.update(output=out)),
    ]
    images = images.detach().clone().requires_grad_(True)
    runner.model.eval()
    try:
        runner.model(images, mode="tensor")
    finally:
        for handle in handles:
            handle.remove()
    height, width = images.shape[-2:]
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )
    offsets = {}
    for name, feature in features.items():
        if feature.dim() != 4:
            raise ValueError(
                f"the last stage's {name} has shape {tuple(feature.shape)}: expected a (B, C, H, W)"
                " map"
            )
        rows, cols = feature.shape[-2:]
        if rows < 3 or cols < 3:
            raise ValueError(f"the last stage's {name} is {rows}x{cols}: no interior cell")
        stride = width / cols
        found = []
        for i in range(1, rows - 1):
            for j in range(1, cols - 1):
                (grad,) = torch.autograd.grad(feature[:, :, i, j].sum(), images, retain_graph=True)
                weight = grad.abs().sum(dim=(0, 1)).double()
                centre_x = float((weight * xs).sum() / weight.sum())
                centre_y = float((weight * ys).sum() / weight.sum())
                drawn = stride * j + (stride - 1) / 2, stride * i + (stride - 1) / 2
                found.append((centre_x - drawn[0], centre_y - drawn[1]))
        offsets[name] = tuple(float(v) for v in np.mean(found, axis=0))
    return offsets


def miss_rows(work_dir: Path) -> list[dict]:
    """Score the test split of one run: one row per kind of map."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from aib_plugin.evaluation import (
        best_contour_box,
        energy_in_box,
        max_box_acc_v2,
        pointing_by_peak,
        pointing_hit,
        pointing_misses,
        resize_map,
        shift_map,
    )
    from aib_plugin.mmpretrain.checkpoint import allow_mmengine_checkpoints

    config, checkpoint = find_run(work_dir)
    cfg = Config.fromfile(str(config))
    cfg.custom_hooks = []
    cfg.log_level = "WARNING"  # the runner's set-up report is not this tool's output
    with tempfile.TemporaryDirectory() as scratch:  # the runner's logs; the run stays untouched
        cfg.work_dir = scratch
        runner = Runner.from_cfg(cfg)
        allow_mmengine_checkpoints()  # a plain model's checkpoint under weights_only=True
        runner.load_checkpoint(str(checkpoint), map_location="cpu")
        maps = collect_maps(runner)
        batch = next(iter(runner.build_dataloader(cfg.test_dataloader)))
        inputs = runner.model.data_preprocessor(batch, False)["inputs"]
        image = inputs[0]
        cell = cell_size(runner, image)
        try:
            field = receptive_field_offsets(runner, inputs[:16])
        except ValueError as error:  # a ViT's tokens, a map without interior cells
            print(f"[pointing_misses] {work_dir}: receptive fields not measured: {error}")
            field = None
    size = maps["images"][0].shape
    half_cell = (cell - 1) / 2
    rows = []
    for source, saliency in (("IB attention", maps["attention"]), ("Grad-CAM", maps["cam"])):
        if not saliency:
            continue
        resized = [resize_map(m, size) for m in saliency]  # once, for both scores
        misses = pointing_misses(resized, maps["boxes"], size, margin=cell)
        moved = [shift_map(m, -half_cell, -half_cell) for m in resized]
        moved_hits = [pointing_hit(m, b) for m, b in zip(moved, maps["boxes"], strict=True)]
        coverage = max_box_acc_v2(resized, maps["boxes"])
        at_half = coverage.thresholds[list(coverage.iou_thresholds).index(0.5)]
        fits = [
            best_contour_box(m, b, at_half) for m, b in zip(resized, maps["boxes"], strict=True)
        ]
        ratios = [
            _area(fit) / _area(b) for (_, fit), b in zip(fits, maps["boxes"], strict=True) if fit
        ]
        grid = (
            tuple(np.shape(saliency[0])[-2:])
            if source == "IB attention"
            else (size[0] // cell, size[1] // cell)
        )
        inks = [resize_map(ink_map(image, grid), size) for image in maps["images"]]
        rows.append(
            dict(
                run=str(work_dir),
                map=source,
                cell=cell,
                pointing=100 * misses.hits / misses.num_images,
                near=100 * misses.near_misses / misses.num_images,
                far=100 * misses.far_misses / misses.num_images,
                offset=misses.mean_offset,
                field=field and field["input" if source == "IB attention" else "output"],
                pointing_moved=100 * float(np.mean(moved_hits)),
                images=misses.num_images,
                coverage=coverage,
                tau=at_half,
                area_ratio=float(np.median(ratios)) if ratios else float("nan"),
                median_iou=float(np.median([iou for iou, _ in fits])),
                coverage_moved=max_box_acc_v2(moved, maps["boxes"]).score,
                grid=grid,
                energy=100 * _mean(energy_in_box, resized, maps["boxes"]),
                ink_energy=100 * _mean(energy_in_box, inks, maps["boxes"]),
                ink_pointing=100 * _mean(pointing_hit, inks, maps["boxes"]),
                ink_correlation=_mean(map_correlation, resized, inks),
                peak_bins=(
                    pointing_by_peak(saliency, maps["boxes"], size)
                    if source == "IB attention"
                    else None
                ),
            )
        )
    return rows


def _mean(score, firsts: list, seconds: list) -> float:
    """The mean of ``score(first, second)`` over the pairs."""
    return float(np.mean([score(a, b) for a, b in zip(firsts, seconds, strict=True)]))


def _area(box) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))


def coverage_table(rows: list[dict]) -> str:
    """One line per run and map: MaxBoxAccV2, its levels, and the best box against the object's."""
    header = ["run", "map", "MaxBoxAccV2 %", "at IoU 0.3 / 0.5 / 0.7 %", "tau at IoU 0.5"]
    header += ["best box / object box area, median", "IoU at that tau, median"]
    header += ["MaxBoxAccV2, maps moved half a cell up-left %"]
    body = [
        [
            r["run"],
            r["map"],
            f"{100 * r['coverage'].score:.1f}",
            " / ".join(f"{100 * a:.1f}" for a in r["coverage"].accuracies),
            f"{r['tau']:.2f}",
            f"{r['area_ratio']:.2f}",
            f"{r['median_iou']:.2f}",
            f"{100 * r['coverage_moved']:.1f}",
        ]
        for r in rows
    ]
    return markdown_table(header, body)


def misses_table(rows: list[dict]) -> str:
    """One line per run and map: the pointing game, its misses, the offset, the moved maps'."""
    header = ["run", "map", "pointing %", "misses within one cell %", "misses farther %"]
    header += ["max - box centre (x, y) px", "pointing, maps moved half a cell up-left %"]
    body = [
        [
            r["run"],
            r["map"],
            f"{r['pointing']:.1f}",
            f"{r['near']:.1f}",
            f"{r['far']:.1f}",
            f"({r['offset'][0]:+.1f}, {r['offset'][1]:+.1f})",
            f"{r['pointing_moved']:.1f}",
        ]
        for r in rows
    ]
    return markdown_table(header, body)


def field_table(rows: list[dict]) -> str:
    """One line per run and map: its layer's receptive-field offset and the map's maximum in
    the network's own geometry: the maximum's cell moved from where it is drawn to its
    receptive-field centre (the maximum's offset from the box centre plus the layer's)."""
    header = ["run", "map", "layer", "receptive-field centre - drawn centre (x, y) px"]
    header += ["max - box centre (x, y) px", "max - box centre, receptive-field frame (x, y) px"]
    body = [
        [
            r["run"],
            r["map"],
            "last stage input" if r["map"] == "IB attention" else "last stage output",
            _xy(r["field"]),
            _xy(r["offset"]),
            _xy(r["field"] and (r["offset"][0] + r["field"][0], r["offset"][1] + r["field"][1])),
        ]
        for r in rows
    ]
    return markdown_table(header, body)


def _xy(pair) -> str:
    """``(+x, +y)`` to one decimal, ``-`` where it was not measured."""
    return "-" if pair is None else f"({pair[0]:+.1f}, {pair[1]:+.1f})"


def ink_table(rows: list[dict]) -> str:
    """One line per run and map: its energy in box and pointing game against those of the
    image's ink pooled to the map's grid (a map that knows where ink is, not which is the
    object), and how closely the map follows that ink."""
    header = ["run", "map", "grid", "energy %", "ink at that grid: energy %", "pointing %"]
    header += ["ink: pointing %", "correlation with the ink, mean over images"]
    body = [
        [
            r["run"],
            r["map"],
            f"{r['grid'][0]}x{r['grid'][1]}",
            f"{r['energy']:.1f}",
            f"{r['ink_energy']:.1f}",
            f"{r['pointing']:.1f}",
            f"{r['ink_pointing']:.1f}",
            f"{r['ink_correlation']:.2f}",
        ]
        for r in rows
    ]
    return markdown_table(header, body)


def peak_table(rows: list[dict]) -> str:
    """The IB attention's pointing game by the map's own peak: 'images % / pointing %' per bin."""
    rows = [r for r in rows if r["peak_bins"] is not None]
    if not rows:
        return ""
    bins = rows[0]["peak_bins"]
    names = [
        f"peak [{b.low:g}, {b.high:g}{']' if i == len(bins) - 1 else ')'}"
        for i, b in enumerate(bins)
    ]
    body = [
        [r["run"]]
        + [
            f"{100 * b.num_images / r['images']:.1f} / "
            + (f"{100 * b.hits / b.num_images:.1f}" if b.num_images else "-")
            for b in r["peak_bins"]
        ]
        for r in rows
    ]
    return markdown_table(["run", *names], body)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    flags.set_threads(args.threads)
    import aib_plugin.mmpretrain  # noqa: F401  (registers the dataset, neck, metric, hooks)

    rows = []
    for work_dir in args.work_dirs:
        print(f"[pointing_misses] scoring {work_dir}", flush=True)
        rows += miss_rows(Path(work_dir))
    cells = sorted({r["cell"] for r in rows})
    print(f"\nOne cell = {', '.join(map(str, cells))} px; {rows[0]['images']} test images.\n")
    print(misses_table(rows))
    peaks = peak_table(rows)
    if peaks:
        print(
            "\nIB attention by the map's own peak (max mu_a): share of the test images % / "
            "pointing game % in each bin.\n"
        )
        print(peaks)
    print(
        "\nCoverage: MaxBoxAccV2 by IoU level; at the threshold best for IoU 0.5, the box around "
        "a contour of the map that fits the object's box best.\n"
    )
    print(coverage_table(rows))
    print(
        "\nReceptive fields: each layer's interior cells, the centre of mass of the input "
        "gradient of the cell's summed features, against where the usual upsampling draws it "
        "(16 test images).\n"
    )
    print(field_table(rows))
    print(
        "\nWhat the maps follow: each map's energy in box and pointing game against the image's "
        "own ink averaged over the map's cells (the digit's and the distractors' alike), and the "
        "map's correlation with that ink.\n"
    )
    print(ink_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
