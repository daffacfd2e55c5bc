"""The cluttered-digits demo: does AIB's attention find the digit?

Trains a plain ResNet-18 and the same network with the AIB neck on cluttered digits through
MMPretrain's Runner (progress in the log), evaluates top-1 error and how well each model's map
points at the digit (AIB: its attention, and its Grad-CAM beside it; plain: Grad-CAM), writes a
PNG grid and a summary. Both models are trained in the same run, on the same data, with the same
schedule and seed.

The demo is a preset of the benchmark's quality pipeline (``tools/benchmark.py quality``): its
own data, configs and models, the same run (aibtools.runs.train_and_score), scores, means over
seeds, targets and report (aibtools.scores, aibtools.report), and the same flags
(aibtools.flags): --seeds (alias --seed), --train-images / --test-images (aliases
--train-samples / --test-samples), --cfg-options (every model), --aib-options (config overrides
of the AIB models only; a bare keyword such as kl=vib is the AIB model's: model.neck.kl for the
MMPretrain models, model.kl for timm_aib), --threads (default: torch's own thread count).

    python tools/demo.py                      # about 10 minutes on a 2-core CPU
    python tools/demo.py --quick              # a smoke run in about a minute
    python tools/demo.py --models plain aib aib_qt --epochs 12 --out-dir outputs/demo_long
    python tools/demo.py --seeds 0 1 2 --out-dir outputs/demo_seeds   # means over seeds, 25 min
    python tools/demo.py --combine outputs/run_a outputs/run_b --out-dir outputs/both  # no training

The printed summary ends with the targets, AIB attention against the plain model's Grad-CAM of
the same seed: top-1 error at most the plain model's; pointing game and MaxBoxAccV2 at least
the plain Grad-CAM's, energy in the box at least 1.5 times the plain Grad-CAM's. Outputs:
summary.md, summary.csv, summary.json (rows, means over seeds, targets), attention_grid.png.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from aibtools import flags
from aibtools.grid import Panel, draw_grid
from aibtools.report import quality_sections, runs_markdown, write_outputs
from aibtools.runs import set_run, train_and_score
from aibtools.scores import AIB_VARIANTS, SCORES, reduction_label

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "cluttered_digits"
CONFIGS = {
    "plain": "resnet18_1xb32_cluttered-digits.py",
    "aib": "resnet18_aib_1xb32_cluttered-digits.py",
    "aib_qt": "resnet18_aib_qt_1xb32_cluttered-digits.py",
    # timm ResNet-18 with the paper's placement (attention at the input of the last stage)
    "timm_plain": "timm-resnet18_1xb32_cluttered-digits.py",
    "timm_aib": "timm-resnet18_aib_1xb32_cluttered-digits.py",
}
#: the (backbone, variant) of each demo model, as the benchmark names them: the AIB models are
#: judged against the plain model of the same backbone
MODELS = {
    "plain": ("mmpretrain:resnet18", "plain"),
    "aib": ("mmpretrain:resnet18", "aib"),
    "aib_qt": ("mmpretrain:resnet18", "aib_qt"),
    "timm_plain": ("resnet18", "plain"),
    "timm_aib": ("resnet18", "aib"),
}
#: ``--quick``: the sizes unless given
QUICK = dict(epochs=1, train_images=96, test_images=48)
OUT_STEM = "summary"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The demo's command line (the shared flags: :mod:`aibtools.flags`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default="outputs/demo", help="where everything is written")
    parser.add_argument("--models", nargs="+", default=["plain", "aib"], choices=sorted(CONFIGS))
    parser.add_argument("--epochs", type=int, default=None, help="default: the configs' (10)")
    flags.add_run_options(
        parser,
        seeds_help="one or more seeds (default 0); with several, every model is trained once "
        "per seed and the summary gives means over seeds",
        train_help="training images (default: the configs' 3000; quick: 96)",
        test_help="test (and validation) images (default: the configs' 500; quick: 48)",
    )
    parser.add_argument("--num-images", type=int, default=8, help="images in the PNG grid")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes (1 epoch, 96 + 48 images) for CI"
    )
    parser.add_argument(
        "--combine",
        nargs="+",
        metavar="DIR",
        default=None,
        help="train nothing: merge the summary.json of earlier demo runs (e.g. one seed each, "
        "run separately) into one summary with means over seeds and the targets",
    )
    parser.add_argument(
        "--aib-config",
        default=None,
        help="train this MMPretrain config as the 'aib' model instead of "
        f"configs/cluttered_digits/{CONFIGS['aib']} (e.g. a variant under "
        "projects/aib_studies/configs/cluttered_digits/)",
    )
    flags.add_threads(parser)
    args = parser.parse_args(argv)
    if args.aib_config is not None and not Path(args.aib_config).is_file():
        parser.error(f"--aib-config: no config file at {args.aib_config}")
    if args.aib_config is not None and "aib" not in args.models:
        parser.error("--aib-config replaces the 'aib' model's config: add 'aib' to --models")
    if args.combine is not None:
        training = ("models", "epochs", "train_images", "test_images", "num_images", "seeds")
        training += ("quick", "aib_config", "cfg_options", "aib_options")
        given = [
            f"--{n.replace('_', '-')}"
            for n in training
            if getattr(args, n) != parser.get_default(n)
        ]
        if given:
            parser.error(f"--combine trains nothing: {' '.join(given)} would have no effect")
        if any(Path(d).resolve() == Path(args.out_dir).resolve() for d in args.combine):
            parser.error(f"--combine: --out-dir {args.out_dir} is one of the runs it would merge")
        for run_dir in args.combine:
            if not (Path(run_dir) / "summary.json").is_file():
                parser.error(f"--combine: no summary.json in {run_dir} (not a demo output folder)")
    args.seeds = [0] if args.seeds is None else args.seeds
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds: each seed once, got {args.seeds}")
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, getattr(args, name) or value)
    for name in ("epochs", "train_images", "test_images", "num_images", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    return args


def load_config(kind: str, args: argparse.Namespace, work_dir: Path, seed: int):
    """The shipped config of ``kind`` with the demo's options and sizes applied.

    Returns the config and the run's own row columns (:func:`aibtools.runs.train_and_score`):
    its ``reduction`` lists the departures from the config's own sizes and the
    ``--cfg-options``, as the benchmark's rows do.
    """
    from mmengine.config import Config

    path = args.aib_config if kind == "aib" and args.aib_config else CONFIG_DIR / CONFIGS[kind]
    cfg = Config.fromfile(str(path))
    backbone, variant = MODELS[kind]
    full = (
        cfg.train_dataloader.dataset.num_images,
        cfg.test_dataloader.dataset.num_images,
        cfg.train_cfg.max_epochs,
    )
    if variant in AIB_VARIANTS:
        neck = (cfg.model.get("neck") or {}).get("type") == "IBAttention"
        cfg.merge_from_dict(flags.aib_overrides(args.aib_options, neck=neck))
    cfg.merge_from_dict(args.cfg_options)
    set_run(cfg, work_dir, seed, args.epochs)
    if args.train_images is not None:
        cfg.train_dataloader.dataset.num_images = args.train_images
    if args.test_images is not None:
        for loader in (cfg.val_dataloader, cfg.test_dataloader):
            loader.dataset.num_images = args.test_images
    sizes = (
        (args.train_images, full[0], "train images"),
        (args.test_images, full[1], "test images"),
        (args.epochs, full[2], "epochs"),
    )
    run = dict(
        backbone=backbone,
        variant=variant,
        seed=seed,
        reduction=reduction_label(sizes, options=tuple(args.cfg_options.items())),
        train_images=cfg.train_dataloader.dataset.num_images,
        epochs=cfg.train_cfg.max_epochs,
    )
    return cfg, run


def draw_maps(results: dict[str, dict], path: Path, num_images: int) -> None:
    """Input with box | per model: its map over the input, for the first test images."""
    from aib_plugin.evaluation import normalize_map, resize_map

    titles, columns = ["input"], []
    for kind, maps in results.items():
        key = "attention" if maps["attention"] else "cam"
        titles.append(f"{kind}: IB attention" if maps["attention"] else f"{kind}: Grad-CAM")
        columns.append((kind, key))
    first = next(iter(results.values()))
    n = min(num_images, len(first["images"]))
    panels = []
    for row in range(n):
        image, box = first["images"][row], first["boxes"][row]
        panels.append([Panel(image, box=box)])
        for kind, key in columns:
            saliency = normalize_map(resize_map(results[kind][key][row], image.shape))
            caption = f"pred {results[kind]['preds'][row]}"
            panels[-1].append(Panel(image, saliency, 0.5, box, caption))
    row_labels = [f"label {first['labels'][row]}" for row in range(n)]
    draw_grid(panels, titles, row_labels, path, panel_inches=2.2)


def combined_rows(run_dirs: list[str]) -> list[dict[str, Any]]:
    """The rows of several demo runs' ``summary.json``, each (backbone, variant, map, seed,
    reduction) at most once.

    Raises:
        ValueError: if a row has no seed or lacks a score, or two runs hold the same row, e.g.
            two different AIB configs both named 'aib' (combine those in separate summaries).
    """
    rows, source = [], {}
    for run_dir in run_dirs:
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
        if not isinstance(summary, dict) or "rows" not in summary:
            raise ValueError(
                f"--combine: {run_dir}/summary.json has no 'rows' (written by an older demo?)"
            )
        for row in summary["rows"]:
            if "seed" not in row:
                raise ValueError(f"--combine: a row of {run_dir}/summary.json has no seed: {row}")
            missing = [key for key, _, _ in SCORES if key not in row]
            missing += [k for k in ("backbone", "variant", "reduction") if k not in row]
            if missing:
                raise ValueError(
                    f"--combine: a row of {run_dir}/summary.json has no {', '.join(missing)} "
                    "(written by an older demo? rerun it)"
                )
            key = (row["backbone"], row["variant"], row["map"], row["seed"], row["reduction"])
            if key in source:
                raise ValueError(
                    f"--combine: {key} is in both {source[key]} and {run_dir}; combine runs of "
                    "different configs in separate summaries"
                )
            source[key] = run_dir
            rows.append(row)
    return rows


#: printed under the targets of a one-seed run
ONE_SEED_CAVEAT = (
    "One seed only: the plain model's own top-1 moves by up to 4 points between seeds, so a gap "
    "of a point or two here is seed noise. Judge the targets on several seeds: --seeds 0 1 2 3 "
    "4 5 6, or --combine runs made one seed each "
    "(projects/aib_studies/experiments/demo_seven_seeds.md)."
)


def summary_markdown(rows: list[dict[str, Any]], command: str, args: argparse.Namespace) -> str:
    """The demo's report: the command, the shared sections (means over seeds, targets) and
    every run."""
    lines = ["# Cluttered digits: plain against AIB, test split", f"Command: `{command.strip()}`"]
    if getattr(args, "aib_options", None):
        lines.append(
            "**Not the configs' recipe**: every AIB model also has "
            + ", ".join(f"`{k}={v!r}`" for k, v in args.aib_options.items())
            + " (`--aib-options`)."
        )
    lines += quality_sections(rows, ONE_SEED_CAVEAT, args.max_plain_error)
    lines += ["## Every run", runs_markdown(rows)]
    return "\n\n".join(lines) + "\n"


def write_summary(
    rows: list[dict[str, Any]], out_dir: Path, command: str, args: argparse.Namespace
) -> str:
    """Write summary.md, summary.csv and summary.json, print the report up to its every-run
    table, and return the markdown."""
    text = summary_markdown(rows, command, args)
    write_outputs(rows, out_dir, OUT_STEM, text, args.max_plain_error)
    print("\n" + text.split("\n## Every run")[0] + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    """Train (or ``--combine``), score, report; returns the exit status."""
    args = parse_args(argv)
    flags.set_threads(args.threads)
    import aib_plugin.mmpretrain  # noqa: F401  (registers the dataset, neck, metric, hooks)

    out_dir = Path(args.out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    command = "python tools/demo.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.combine is not None:
        try:
            rows = combined_rows(args.combine)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        write_summary(rows, out_dir, command, args)
        print(f"[demo] the combined summary is in {out_dir}: summary.md, summary.csv, summary.json")
        return 0
    several = len(args.seeds) > 1
    grid_results, rows = {}, []
    for seed in args.seeds:
        results = {}
        for kind in args.models:
            work_dir = out_dir / f"seed{seed}" / kind if several else out_dir / kind
            cfg, run = load_config(kind, args, work_dir, seed)
            epochs = cfg.train_cfg.max_epochs
            name = Path(cfg.filename).name
            print(f"[demo] training {kind} ({name}), seed {seed}, for {epochs} epochs")
            kind_rows, results[kind] = train_and_score(cfg, run, every_map=True)
            rows += kind_rows
        grid_results = grid_results or results  # the first seed's maps go into the picture
    draw_maps(grid_results, out_dir / "attention_grid.png", args.num_images)
    write_summary(rows, out_dir, command, args)
    print(f"[demo] everything is in {out_dir}: summary.md, summary.csv, summary.json,")
    print("[demo] attention_grid.png, and per model: logs, checkpoint, attention overlays")
    print("[demo] (vis_data/vis_image).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
