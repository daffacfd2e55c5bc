"""Benchmark AIB across zoo backbones: cost and speed, and quality on cluttered MNIST.

Cost and speed (per backbone: plain, AIB light head, AIB paper head, AIB quantized): parameters,
FLOPs, batch-1 latency, batch throughput (eval), training-step time and peak training memory;
overheads are medians of paired ratios to the plain model from interleaved (round-robin) timing.
Writes cost.csv, cost.md and cost.png, and prints the targets as PASS / FAIL lines.

Quality (cluttered MNIST 60x60, several seeds; per backbone family: plain, timm SE and CBAM, AIB,
AIB quantized; by default each family at its own training setting, chosen so that its plain
model learns the task, with fresh clutter every epoch): every run is a config of
configs/cluttered_mnist/ trained by MMEngine's
Runner.from_cfg, as tools/demo.py trains; top-1 error, pointing game, energy in box and
MaxBoxAccV2 of each model's map (AIB: its attention; others: Grad-CAM). Writes
cluttered_mnist_quality.csv / .json / .md / .png and the targets at every seed. The runs, their
scores, the means over seeds, the targets and the report are the tools' one pipeline
(aibtools.runs, aibtools.scores, aibtools.report), which tools/demo.py runs on its own data.

Flags shared with tools/demo.py have one meaning (aibtools.flags): --seeds, --train-images /
--test-images, --cfg-options (every model), --aib-options (config overrides of the AIB models
only; a bare keyword such as area_weight=0 is the AIB model's, in model.neck for MMPretrain and
model for timm), --threads (default: torch's own thread count).

    python tools/benchmark.py cost                  # the cost table (long on 2 cores)
    python tools/benchmark.py cost --quick          # CI smoke run, a few minutes
    python tools/benchmark.py cost --backbones resnet50   # the resnet50 cost targets
    python tools/benchmark.py cost --device cuda --amp    # on a GPU
    python tools/benchmark.py quality               # learned preset: each family trained until
                                                    # its plain model learns (<= 150 min, 2 cores)
    python tools/benchmark.py quality --preset reduced   # every family at 3,000 images x 3 epochs
    python tools/benchmark.py quality --dry-run     # its runs and estimated minutes, no training
    python tools/benchmark.py quality --quick       # about a minute: resnet18 plain + aib, tiny

Without a subcommand, ``cost`` (the options as before).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from aibtools import flags
from aibtools.benchmark import COST_VARIANTS, NotApplicable, build_variant, cost, report
from aibtools.benchmark import quality as q
from aibtools.report import quality_sections, runs_markdown, write_outputs
from aibtools.tables import markdown_table

DEFAULT_BACKBONES = (
    "resnet18", "resnet50", "convnext_tiny", "efficientnet_b0", "mobilenetv3_large_100",
    "regnety_008", "vgg16_bn", "vit_small_patch16_224", "mmpretrain:resnet50",
)  # fmt: skip
QUICK_BACKBONES = ("resnet18", "mmpretrain:resnet18")
COMMANDS = ("cost", "quality")

#: ``quality`` presets. ``learned`` (the default): the families with a training setting of their
#: own (:class:`aibtools.benchmark.quality.Training`, chosen so that each plain model learns the
#: task), plain and AIB, three seeds, scored on all 10,000 test images. ``reduced``: the earlier
#: sweep, every family and variant at 3,000 images x 3 epochs (plain models far from learned)
#: and the full-data pair.
QUALITY_PRESETS = dict(
    learned=dict(
        backbones=[name for name, f in q.FAMILIES.items() if f.training is not None],
        variants=["plain", "aib"], seeds=[0, 1, 2], train_images=None, test_images=None,
        epochs=None, full_pair=False, per_family=True,
    ),
    reduced=dict(
        backbones=list(q.REDUCED_FAMILIES), variants=list(q.VARIANTS), seeds=[0, 1, 2],
        train_images=3000, test_images=500, epochs=3, full_pair=True, per_family=False,
    ),
)  # fmt: skip
QUALITY_DEFAULTS = QUALITY_PRESETS["learned"]
#: ``quality --quick``: one backbone, two variants, one seed, tiny (about a minute)
QUALITY_QUICK = dict(
    backbones=["resnet18"], variants=["plain", "aib"], seeds=[0],
    train_images=200, test_images=100, epochs=1, full_pair=False, per_family=False,
)  # fmt: skip
#: the pair trained once on every training image (beside the published errors)
FULL_PAIR = ("mmpretrain:resnet18", ("plain", "aib"))
#: printed under the targets when no setting has more than one seed
ONE_SEED = (
    "One seed only: a gap of a few points is within the seed noise; judge the targets at every "
    "one of at least three seeds."
)
OUT_STEM = "cluttered_mnist_quality"
OUT_FILES = tuple(f"{OUT_STEM}.{ext}" for ext in ("csv", "md", "png", "json"))


def _cost_parser(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--out-dir", default="outputs/benchmark", help="where the outputs are written")
    add("--quick", action="store_true", help="CI smoke run: two small backbones, 64x64, tiny")
    add("--device", default="auto", choices=("auto", "cpu", "cuda"))
    add("--amp", action="store_true", help="autocast in the cost timing")
    flags.add_threads(parser)
    add("--backbones", nargs="+", default=None, help=f"default: {' '.join(DEFAULT_BACKBONES)}")
    add("--variants", nargs="+", default=list(COST_VARIANTS), choices=COST_VARIANTS)
    add("--input-size", type=int, default=None, help="image side (default 224; quick: 64)")
    add("--batch-size", type=int, default=16, help="eval throughput batch")
    add(
        "--train-batch-size",
        type=int,
        default=None,
        help="training-step batch (default 16; quick: 4)",
    )
    add("--num-classes", type=int, default=1000)
    add("--repeats", type=int, default=None, help="measured rounds (default 7; quick: 3)")
    add("--warmup", type=int, default=None, help="unmeasured rounds (default 2; quick: 1)")
    add("--latency-iters", type=int, default=3, help="batch-1 forwards per latency sample")
    add("--no-memory", action="store_true", help="skip the peak-memory measurement")


def _quality_parser(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    quick = QUALITY_QUICK
    add("--out-dir", default="outputs/benchmark_quality", help="where the outputs are written")
    add(
        "--quick",
        action="store_true",
        help="about a minute: resnet18 plain and aib, 1 seed, 200 + 100 images, 1 epoch",
    )
    add(
        "--preset",
        choices=list(QUALITY_PRESETS),
        default="learned",
        help="learned: each family's own training setting (its plain model learns the task), "
        "plain and aib, seeds 0-2, all 10,000 test images; reduced: every family and variant "
        "at 3,000 images x 3 epochs, 500 test images, and the full-data pair",
    )
    flags.add_threads(parser)
    add(
        "--backbones",
        nargs="+",
        default=None,
        choices=list(q.FAMILIES),
        help="default: the preset's (learned: the families with a training setting of their "
        f"own; reduced: all); quick: {' '.join(quick['backbones'])}",
    )
    add(
        "--variants",
        nargs="+",
        default=None,
        choices=q.VARIANTS,
        help="default: all (se and cbam exist for the timm ResNet only); quick: plain aib",
    )
    flags.add_run_options(
        parser,
        seeds_help="default: 0 1 2; quick: 0",
        train_help="training images per run, of 50,000 (default: learned, each family's own; "
        f"reduced, 3000; quick: {quick['train_images']})",
        test_help="test (and validation, at most 2,000) images per run, of 10,000 (default: "
        f"learned, all 10,000; reduced, 500; quick: {quick['test_images']})",
    )
    add(
        "--epochs",
        type=int,
        default=None,
        help="of the configs' 10 (default: learned, each family's own; reduced, 3; quick: "
        f"{quick['epochs']})",
    )
    add(
        "--full-pair",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"also train {FULL_PAIR[0]} plain and aib once (first seed) on all 50,000 "
        "training images, scored on all 10,000 test images; those of the two among --variants "
        "(default: on; quick: off)",
    )
    add(
        "--full-pair-epochs",
        type=int,
        default=3,
        help="epochs of the full-data pair",
    )
    add(
        "--save-checkpoints",
        action="store_true",
        help="keep each run's last checkpoint (default: none, to save disk)",
    )
    add(
        "--reference",
        default=None,
        metavar="CSV",
        help="the quality CSV of an earlier run (e.g. docs/benchmarks/cluttered_mnist_quality.csv)"
        ": its plain, SE and CBAM rows of the same backbone, sizes and seed as this run's AIB "
        "models join this run's tables and CSV and judge the targets, instead of training "
        "those models again (they do not depend on the AIB recipe)",
    )
    add(
        "--keep-rows-from",
        default=None,
        metavar="CSV",
        help="the quality CSV of an earlier run whose rows stay in this run's tables and CSV for "
        "every model this run does not train again (a model: backbone, variant, training and "
        "test images), e.g. after a change of the MMPretrain configs only: train those models "
        "again and keep the timm rows",
    )
    add(
        "--report-only",
        action="store_true",
        help="train nothing: write the markdown and PNG again from the CSV already in --out-dir "
        "(give the run's own options again; --reference may be added)",
    )
    add("--dry-run", action="store_true", help="print the runs and the estimate, train nothing")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: ``cost`` (the default) or ``quality`` and their options."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS + ("-h", "--help"):
        argv = ["cost", *argv]
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.ArgumentDefaultsHelpFormatter
    _cost_parser(sub.add_parser("cost", help="cost and speed (default)", formatter_class=fmt))
    quality_parser = sub.add_parser(
        "quality", help="quality on cluttered MNIST through the configs", formatter_class=fmt
    )
    _quality_parser(quality_parser)
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.command == "cost":
        _finish_cost_args(args, sub.choices["cost"])
    else:
        _finish_quality_args(args, quality_parser)
    return args


def _finish_cost_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    quick = args.quick
    defaults = dict(
        backbones=list(QUICK_BACKBONES if quick else DEFAULT_BACKBONES),
        input_size=64 if quick else 224,
        train_batch_size=4 if quick else 16,
        repeats=3 if quick else 7,
        warmup=1 if quick else 2,
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if quick:  # smaller than the defaults unless given
        for name, value in (("batch_size", 4), ("num_classes", 10), ("latency_iters", 2)):
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    for name in (
        "input_size", "batch_size", "train_batch_size", "num_classes", "repeats", "latency_iters",
    ):  # fmt: skip
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    if "plain" not in args.variants:
        parser.error("--variants must include 'plain' (overheads are ratios to it)")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device available")


def _finish_quality_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    preset = QUALITY_QUICK if args.quick else QUALITY_PRESETS[args.preset]
    for name, value in preset.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    limits = dict(train_images=50_000, test_images=10_000, epochs=None, full_pair_epochs=None)
    for name, limit in limits.items():
        value = getattr(args, name)
        flag = f"--{name.replace('_', '-')}"
        if value is None:  # the family's own (learned) or all of the split
            continue
        if value < 1:
            parser.error(f"{flag} must be >= 1, got {value}")
        if limit is not None and value > limit:
            parser.error(f"{flag} must be <= {limit:,} (the split), got {value}")
    untrained = [b for b in args.backbones if q.FAMILIES[b].training is None]
    if args.per_family and untrained and (args.train_images is None or args.epochs is None):
        parser.error(
            f"--preset learned: {', '.join(untrained)} has no training setting of its own "
            "(give --train-images and --epochs, or use --preset reduced)"
        )
    if any(s < 0 for s in args.seeds):
        parser.error(f"--seeds must be >= 0, got {args.seeds}")
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds: each seed once, got {args.seeds}")
    if args.report_only and not (Path(args.out_dir) / OUT_FILES[0]).is_file():
        parser.error(f"--report-only: no {OUT_FILES[0]} in {args.out_dir} to report")
    if args.cfg_options and args.reference is not None:
        parser.error(
            "--cfg-options change the plain models too; --reference would judge them by rows "
            "trained without the change: train the plain models in this run instead"
        )
    for flag in ("reference", "keep_rows_from"):
        path = getattr(args, flag)
        if path is not None:
            try:
                setattr(args, f"{flag}_rows", report.read_quality_csv(Path(path)))
            except (OSError, ValueError) as err:
                parser.error(f"--{flag.replace('_', '-')}: {err}")
    if args.aib_options and not set(args.variants) & set(q.AIB_VARIANTS):
        parser.error(
            f"--aib-options change the AIB models only; --variants {' '.join(args.variants)} "
            "has none"
        )


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _summary(key: str, samples: list[float], reference: list[float]) -> dict[str, float]:
    value, iqr = cost.median_iqr(samples)
    ratio, ratio_iqr = cost.median_iqr(cost.paired_ratios(samples, reference))
    return {key: value, key + "_iqr": iqr, key + "_ratio": ratio, key + "_ratio_iqr": ratio_iqr}


def benchmark_backbone(
    backbone: str, args: argparse.Namespace, device: torch.device, bar: tqdm
) -> list[dict[str, Any]]:
    """Cost rows of every variant of ``backbone`` (a row with a status for missing ones)."""
    built, rows = [], []
    for name in args.variants:
        try:
            variant = build_variant(backbone, name, args.num_classes, args.input_size)
        except NotApplicable as err:
            rows.append(dict(backbone=backbone, variant=name, status=f"n/a: {err}"[:200]))
            continue
        variant.model.to(device)
        built.append(variant)
    bar.set_postfix_str(f"{backbone}: timing {len(built)} variants")
    timings = cost.time_interleaved(
        built,
        args.input_size,
        args.batch_size,
        args.train_batch_size,
        args.num_classes,
        args.repeats,
        args.warmup,
        args.latency_iters,
        device,
        args.amp,
        on_repeat=bar.update,
    )
    plain = next(v for v in built if v.name == "plain")
    base = timings["plain"]
    plain_params = cost.count_params(plain.model)
    plain_flops = cost.count_flops(plain, args.input_size, device)
    plain_mem = None
    for variant in built:
        bar.set_postfix_str(f"{backbone}: {variant.name} flops / memory")
        t = timings[variant.name]
        params = cost.count_params(variant.model)
        flops = cost.count_flops(variant, args.input_size, device)
        row: dict[str, Any] = dict(
            backbone=backbone,
            variant=variant.name,
            status="ok",
            input_size=args.input_size,
            params=params,
            params_ratio=params / plain_params,
            attention_params=cost.attention_params(variant),
            gflops=flops / 1e9,
            gflops_ratio=flops / plain_flops if plain_flops else float("nan"),
        )
        for key, timing_key in (
            ("latency_b1", "latency_b1"),
            ("batch", "batch_time"),
            ("train_step", "train_step"),
        ):
            stats = _summary(key, t[timing_key], base[timing_key])
            row[key + "_ms"] = 1e3 * stats[key]
            row[key + "_iqr_ms"] = 1e3 * stats[key + "_iqr"]
            row[key + "_ratio"] = stats[key + "_ratio"]
            row[key + "_ratio_iqr"] = stats[key + "_ratio_iqr"]
        row["throughput_img_s"] = args.batch_size / (row["batch_ms"] / 1e3)
        mem = float("nan")
        if not args.no_memory:
            mem = (
                cost.peak_train_memory(
                    backbone,
                    variant.name,
                    args.input_size,
                    args.train_batch_size,
                    args.num_classes,
                    device,
                    variant,
                    args.amp,
                )
                / 2**20
            )
        plain_mem = mem if variant.name == "plain" else plain_mem
        row["train_peak_mem_mb"] = mem
        row["mem_ratio"] = mem / plain_mem if plain_mem else float("nan")
        rows.append(row)
    order = {name: i for i, name in enumerate(args.variants)}
    return sorted(rows, key=lambda r: order[r["variant"]])


def run_cost(args: argparse.Namespace, device: torch.device) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    total = len(args.backbones) * (args.warmup + args.repeats)
    with tqdm(total=total, desc="cost rounds", unit="round", file=sys.stderr) as bar:
        for backbone in args.backbones:
            rows += benchmark_backbone(backbone, args, device, bar)
            gc.collect()
    return rows


def quality_runs(args: argparse.Namespace) -> list[q.RunSpec]:
    """The quality runs of ``args``: the sweep, then the full-data pair (if asked for)."""
    options = tuple(args.aib_options.items())
    cfg_options = tuple(args.cfg_options.items())
    runs = q.plan(
        args.backbones,
        args.variants,
        args.seeds,
        args.train_images,
        args.test_images,
        args.epochs,
        options,
        cfg_options,
        args.per_family,
    )
    if args.full_pair:
        backbone, variants = FULL_PAIR
        runs += [
            q.RunSpec(
                backbone,
                variant,
                args.seeds[0],
                epochs=args.full_pair_epochs,
                aib_options=options,
                cfg_options=cfg_options,
            )
            for variant in variants
            if variant in args.variants  # e.g. --variants aib aib_qt --reference: the AIB one
        ]
    return runs


def _plan_table(runs: list[q.RunSpec]) -> str:
    groups: dict[tuple, list[q.RunSpec]] = {}
    for spec in runs:
        key = (spec.backbone, spec.variant, spec.train_images, spec.test_images, spec.epochs)
        groups.setdefault(key, []).append(spec)
    header = ["backbone", "variant", "seeds", "train images", "test images", "epochs"]
    header.append("estimated min")
    body = []
    for (backbone, variant, train_images, test_images, epochs), specs in groups.items():
        minutes = q.estimate_minutes(specs)
        body.append(
            [
                backbone,
                variant,
                " ".join(str(s.seed) for s in specs),
                f"{train_images or q.FULL_TRAIN_IMAGES:,}",
                f"{test_images or q.FULL_TEST_IMAGES:,}",
                str(epochs or q.FULL_EPOCHS),
                "?" if math.isnan(minutes) else f"{minutes:.1f}",
            ]
        )
    return markdown_table(header, body)


def _estimate_line(runs: list[q.RunSpec]) -> str:
    minutes = q.estimate_minutes(runs)
    if math.isnan(minutes):
        unknown = sorted(
            {f"{s.backbone} {s.variant}" for s in runs if math.isnan(q.estimate_minutes([s]))}
        )
        return f"{len(runs)} runs; no estimate: no speed measured for {', '.join(unknown)}"
    return (
        f"{len(runs)} runs; estimated {minutes:.1f} min from the measured speeds on this "
        "project's 2-core CPU (2 torch threads, nothing else running)"
    )


def run_quality(args: argparse.Namespace, out_dir: Path, argv: list[str]) -> list[dict[str, Any]]:
    """Train and score every run, writing the CSV after each one."""
    runs = quality_runs(args)
    print(f"[quality] {_estimate_line(runs)}", flush=True)
    rows: list[dict[str, Any]] = []
    csv_path = out_dir / OUT_FILES[0]
    with tqdm(runs, desc="quality runs", unit="run", file=sys.stderr) as bar:
        for spec in bar:
            bar.set_postfix_str(f"{spec.backbone} {spec.variant} seed {spec.seed}")
            row = q.run_one(spec, out_dir, args.save_checkpoints)
            rows.append(row)
            report.write_csv(rows, report.QUALITY_COLUMNS, csv_path)
            tqdm.write(
                f"[quality] {spec.backbone} {spec.variant} seed {spec.seed}: top-1 err "
                f"{row['top1_err']:.1f}%, pointing {row['pointing']:.1f}%, energy "
                f"{row['energy']:.1f}%, MaxBoxAccV2 {row['max_box_acc_v2']:.1f}% ({row['map']}); "
                f"{row['train_minutes']:.2f} min training, {row['eval_minutes']:.2f} min maps",
                file=sys.stderr,
            )
    return rows


def _machine(args: argparse.Namespace) -> str:
    import mmengine
    import mmpretrain
    import timm

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads; torch {torch.__version__}, timm "
        f"{timm.__version__}, mmengine {mmengine.__version__}, mmpretrain {mmpretrain.__version__}"
    )


def quality_report(
    rows: list[dict[str, Any]], args: argparse.Namespace, argv: list[str], minutes: float
) -> str:
    """The markdown of a quality run: settings, means over seeds, targets, anchors, seeds."""
    kept, reference = _joined_rows(rows, args)
    judged = reference + kept + list(rows)  # as _with_reference
    per_run = [r["train_minutes"] + r["eval_minutes"] for r in rows]
    files = sorted(set(q.CONFIG_FILES.values()))
    lines = [
        "# Quality across backbones: cluttered MNIST 60x60, 4 distractors",
        f"Command: `python tools/benchmark.py {' '.join(argv)}`  \n"
        f"Machine: {_machine(args)}.  \n"
        f"Run time: {minutes:.1f} min for {len(rows)} runs"
        + (" (the runs' own minutes: written with --report-only)" if args.report_only else "")
        + "; per run (training + maps) "
        f"{min(per_run, default=0):.2f} to {max(per_run, default=0):.2f} min, mean "
        f"{sum(per_run) / max(len(per_run), 1):.2f}.",
        "Every run is a config of `configs/cluttered_mnist/` ("
        + ", ".join(f"`{f}`" for f in files)
        + ") with `cfg.merge_from_dict` overrides (the timm `model_name`, the family's CPU "
        "reductions, the image counts, the epochs; with `--preset learned` the family's own "
        "training setting and fresh clutter every epoch), trained by MMEngine's "
        "`Runner.from_cfg` as "
        "`tools/demo.py` trains; all AIB models use the configs' one AIB recipe (the digits "
        "demo's). The area price's warm-up keeps its share of training (the first half) when "
        "the epochs are fewer. Scores in percent on the test split: AIB rows score their IB "
        "attention, plain, SE and CBAM rows their Grad-CAM at the last stage. `reduction` lists "
        "every departure from the configs' full setting (50,000 training and 10,000 test "
        "images, 10 epochs, the stock model).",
        *(
            [
                f"Rows of the models without IB attention from `{args.reference}` (not trained "
                f"again; the AIB recipe does not touch them): {len(reference)} runs of "
                "the same backbones, sizes and seeds as this run's AIB models."
            ]
            if getattr(args, "reference", None)
            else []
        ),
        *(
            [
                f"Rows kept from `{args.keep_rows_from}` (not trained again; that run's markdown "
                f"gives its command): {len(kept)} runs of the models this run does "
                "not train."
            ]
            if getattr(args, "keep_rows_from", None)
            else []
        ),
        *(
            [
                "**Not the configs' recipe**: every AIB model also has "
                + ", ".join(f"`{k}={v!r}`" for k, v in args.aib_options.items())
                + " (`--aib-options`)."
            ]
            if args.aib_options
            else []
        ),
        *(
            [
                "**Not the configs' setting**: every model, plain and AIB, also has "
                + ", ".join(f"`{k}={v!r}`" for k, v in args.cfg_options.items())
                + " (`--cfg-options`; in the `reduction` column)."
            ]
            if getattr(args, "cfg_options", None)
            else []
        ),
        *quality_sections(judged, ONE_SEED, args.max_plain_error),
        "## Published test errors on cluttered MNIST (full training sets)",
        report.published_markdown(),
        "## Every run",
        runs_markdown(rows),
    ]
    return "\n\n".join(lines) + "\n"


def _joined_rows(
    rows: list[dict[str, Any]], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``--keep-rows-from`` rows of the models ``rows`` does not train, and the
    ``--reference`` rows that judge and complete both (empty lists without the options)."""
    kept = report.kept_rows(getattr(args, "keep_rows_from_rows", None) or [], rows)
    reference = getattr(args, "reference_rows", None) or []
    return kept, report.reference_rows(reference, kept + list(rows))


def _with_reference(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """``rows`` after the rows that ``--keep-rows-from`` and ``--reference`` join to them."""
    kept, reference = _joined_rows(rows, args)
    return reference + kept + list(rows)


def main_quality(args: argparse.Namespace, argv: list[str]) -> int:
    runs = quality_runs(args)
    if args.dry_run:
        print(_plan_table(runs))
        print(f"\n[quality] {_estimate_line(runs)}")
        return 0
    out_dir = Path(args.out_dir).resolve()
    csv_path, _, png_path, _ = (out_dir / name for name in OUT_FILES)
    if args.report_only:
        rows = report.read_quality_csv(csv_path)
        minutes = sum(r["train_minutes"] + r["eval_minutes"] for r in rows)
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        rows = run_quality(args, out_dir, argv)
        minutes = (time.perf_counter() - start) / 60
    text = quality_report(rows, args, argv, minutes)
    rows = _with_reference(rows, args)
    write_outputs(rows, out_dir, OUT_STEM, text, args.max_plain_error)
    report.plot_quality(report.aggregate_quality(rows), png_path)
    print("\n" + text.split("\n## Every run")[0])
    print(f"[quality] {minutes:.1f} min; outputs in {out_dir}: {', '.join(OUT_FILES)}")
    return 0


def _cost_header(args: argparse.Namespace, device: torch.device, argv: list[str]) -> str:
    import timm

    memory = (
        "torch.cuda.max_memory_allocated above the allocation before one training step."
        if device.type == "cuda"
        else "peak RSS growth of a fresh worker process over its first training step "
        "(ru_maxrss minus RSS before the step)."
    )
    lines = [
        f"Command: `python tools/benchmark.py {' '.join(argv)}`",
        f"Machine: {platform.processor() or platform.machine()}, device {device}, "
        f"{torch.get_num_threads()} torch threads; torch {torch.__version__}, timm "
        f"{timm.__version__}.",
        f"Cost: input {args.input_size}x{args.input_size}, {args.num_classes} classes, eval "
        f"batch {args.batch_size}, train batch {args.train_batch_size}, {args.warmup} warm-up "
        f"+ {args.repeats} interleaved rounds, amp={args.amp}. Times are medians [IQR]; "
        "overheads (vs plain) are medians of per-round paired ratios. FLOPs: "
        f"torch.utils.flop_counter at batch 1 (multiply-add = 2). Train peak MB: {memory}",
    ]
    return "  \n".join(lines) + "\n"


def main_cost(args: argparse.Namespace, argv: list[str]) -> int:
    device = _device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    out_dir = Path(args.out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cost_rows = run_cost(args, device)
    targets = report.cost_targets(cost_rows)
    minutes = (time.perf_counter() - start) / 60
    report.write_csv(cost_rows, report.COST_COLUMNS, out_dir / "cost.csv")
    report.plot_cost(cost_rows, out_dir / "cost.png")
    sections = [_cost_header(args, device, argv) + f"Run time: {minutes:.1f} min.\n"]
    sections.append("## Cost and speed\n\n" + report.cost_markdown(cost_rows) + "\n")
    sections.append("## Targets\n\n```\n" + "\n".join(targets) + "\n```\n")
    text = "\n\n".join(sections)
    (out_dir / "cost.md").write_text(text)
    print("\n" + text)
    print(f"[benchmark] {minutes:.1f} min; outputs in {out_dir}: cost.csv, cost.md, cost.png")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    flags.set_threads(args.threads)
    if args.command == "quality":
        return main_quality(args, argv)
    return main_cost(args, argv)


if __name__ == "__main__":
    sys.exit(main())
