"""Benchmark AIB across zoo backbones: cost, speed and quality, side by side.

Cost and speed (per backbone: plain, AIB light head, AIB paper head, AIB quantized): parameters,
FLOPs, batch-1 latency, batch throughput (eval), training-step time and peak training memory;
overheads are medians of paired ratios to the plain model from interleaved (round-robin) timing.
Quality (cluttered digits, several seeds: plain, timm SE and CBAM, AIB, AIB quantized): accuracy,
pointing game, energy in box and box accuracy of each model's map (AIB: its attention; others:
Grad-CAM). Writes cost.csv, quality.csv, summary.md and benchmark.png, and prints the targets as
PASS / FAIL lines.

    python tools/benchmark.py                       # the full CPU benchmark (long on 2 cores)
    python tools/benchmark.py --quick               # CI smoke run, a few minutes
    python tools/benchmark.py --backbones resnet50 --skip-quality   # the resnet50 cost targets
    python tools/benchmark.py --device cuda --amp   # on a GPU
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "2")

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from aibtools.benchmark import (  # noqa: E402
    COST_VARIANTS,
    QUALITY_VARIANTS,
    NotApplicable,
    build_variant,
    cost,
    quality,
    report,
)

DEFAULT_BACKBONES = (
    "resnet18", "resnet50", "convnext_tiny", "efficientnet_b0", "mobilenetv3_large_100",
    "regnety_008", "vgg16_bn", "vit_small_patch16_224", "mmpretrain:resnet50",
)  # fmt: skip
QUICK_BACKBONES = ("resnet18", "mmpretrain:resnet18")
DEFAULT_QUALITY_BACKBONES = ("resnet18", "resnet26")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add = parser.add_argument
    add("--out-dir", default="outputs/benchmark", help="where the outputs are written")
    add("--quick", action="store_true", help="CI smoke run: two small backbones, 64x64, tiny")
    add("--device", default="auto", choices=("auto", "cpu", "cuda"))
    add("--amp", action="store_true", help="autocast in the cost timing")
    add("--threads", type=int, default=None, help="torch threads (default: OMP_NUM_THREADS)")
    cost_group = parser.add_argument_group("cost and speed")
    add = cost_group.add_argument
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
    add("--skip-cost", action="store_true")
    quality_group = parser.add_argument_group("quality (cluttered digits)")
    add = quality_group.add_argument
    add("--quality-backbones", nargs="+", default=None, help="default: resnet18 resnet26")
    add("--quality-variants", nargs="+", default=list(QUALITY_VARIANTS), choices=QUALITY_VARIANTS)
    add("--seeds", type=int, default=None, help="seeds per model (default 3; quick: 1)")
    add("--epochs", type=int, default=None, help="default 6; quick: 1")
    add("--train-samples", type=int, default=None, help="default 2000; quick: 96")
    add("--test-samples", type=int, default=None, help="default 500; quick: 48")
    add("--quality-width", type=int, default=4, help="divides timm ResNet channels")
    add("--quality-output-stride", type=int, default=8, choices=(8, 16, 32))
    add("--lr", type=float, default=2e-3, help="AdamW learning rate (the digits configs')")
    add(
        "--area-weight",
        type=float,
        default=0.1,
        help="AIB variants' area_weight (as the timm digits config; 0 = the paper's objective)",
    )
    add(
        "--initial-attention",
        type=float,
        default=0.5,
        help="AIB variants' initial_attention (light head; 0.5 = PyTorch's default init)",
    )
    add("--skip-quality", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = dict(
        backbones=list(QUICK_BACKBONES if quick else DEFAULT_BACKBONES),
        input_size=64 if quick else 224,
        train_batch_size=4 if quick else 16,
        repeats=3 if quick else 7,
        warmup=1 if quick else 2,
        quality_backbones=["resnet18"] if quick else list(DEFAULT_QUALITY_BACKBONES),
        seeds=1 if quick else 3,
        epochs=1 if quick else 6,
        train_samples=96 if quick else 2000,
        test_samples=48 if quick else 500,
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if quick:  # smaller than the defaults unless given
        for name, value in (("batch_size", 4), ("num_classes", 10), ("latency_iters", 2)):
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    for name in (
        "input_size", "batch_size", "train_batch_size", "num_classes", "repeats",
        "latency_iters", "seeds", "epochs", "train_samples", "test_samples", "quality_width",
    ):  # fmt: skip
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    if "plain" not in args.variants:
        parser.error("--variants must include 'plain' (overheads are ratios to it)")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device available")
    return args


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


def run_quality(args: argparse.Namespace) -> list[dict[str, Any]]:
    data = quality.load_digits_data(args.train_samples, args.test_samples)
    jobs = [
        (backbone, variant, seed)
        for backbone in args.quality_backbones
        for seed in range(args.seeds)
        for variant in args.quality_variants
    ]
    rows = []
    with tqdm(jobs, desc="quality runs", unit="run", file=sys.stderr) as bar:
        for backbone, variant, seed in bar:
            bar.set_postfix_str(f"{backbone} {variant} seed {seed}")
            kwargs = quality.small_model_kwargs(
                backbone, args.quality_width, args.quality_output_stride
            )
            try:
                rows.append(
                    quality.run_quality(
                        backbone,
                        variant,
                        data,
                        seed,
                        args.epochs,
                        lr=args.lr,
                        model_kwargs=kwargs,
                        aib_kwargs=dict(
                            area_weight=args.area_weight,
                            initial_attention=args.initial_attention,
                        ),
                    )
                )
            except NotApplicable as err:
                tqdm.write(f"[benchmark] skipping {backbone} {variant}: {err}", file=sys.stderr)
    return rows


def _header(args: argparse.Namespace, device: torch.device, argv: list[str]) -> str:
    import timm

    lines = [
        f"Command: `python tools/benchmark.py {' '.join(argv)}`",
        f"Machine: {platform.processor() or platform.machine()}, device {device}, "
        f"{torch.get_num_threads()} torch threads; torch {torch.__version__}, timm "
        f"{timm.__version__}.",
    ]
    if not args.skip_cost:
        memory = (
            "torch.cuda.max_memory_allocated above the allocation before one training step."
            if device.type == "cuda"
            else "peak RSS growth of a fresh worker process over its first training step "
            "(ru_maxrss minus RSS before the step)."
        )
        lines.append(
            f"Cost: input {args.input_size}x{args.input_size}, {args.num_classes} classes, eval "
            f"batch {args.batch_size}, train batch {args.train_batch_size}, {args.warmup} warm-up "
            f"+ {args.repeats} interleaved rounds, amp={args.amp}. Times are medians [IQR]; "
            "overheads (vs plain) are medians of per-round paired ratios. FLOPs: "
            f"torch.utils.flop_counter at batch 1 (multiply-add = 2). Train peak MB: {memory}"
        )
    if not args.skip_quality:
        lines.append(
            f"Quality: cluttered digits 64x64, {args.train_samples} train / {args.test_samples} "
            f"test images, {args.epochs} epoch(s), {args.seeds} seed(s); timm ResNets with "
            f"channels /{args.quality_width} and output stride {args.quality_output_stride}; "
            f"AdamW lr {args.lr}; AIB area_weight {args.area_weight}, initial_attention "
            f"{args.initial_attention}."
        )
    return "  \n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads or int(os.environ["OMP_NUM_THREADS"]))
    device = _device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    out_dir = Path(args.out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cost_rows = [] if args.skip_cost else run_cost(args, device)
    quality_rows = [] if args.skip_quality else run_quality(args)
    aggregated = report.aggregate_quality(quality_rows)
    targets = (report.cost_targets(cost_rows) if cost_rows else []) + report.quality_targets(
        quality_rows
    )
    minutes = (time.perf_counter() - start) / 60
    report.write_csv(cost_rows, report.COST_COLUMNS, out_dir / "cost.csv")
    report.write_csv(quality_rows, report.QUALITY_COLUMNS, out_dir / "quality.csv")
    report.plot(cost_rows, aggregated, out_dir / "benchmark.png")
    sections = [_header(args, device, argv) + f"Run time: {minutes:.1f} min.\n"]
    if cost_rows:
        sections.append("## Cost and speed\n\n" + report.cost_markdown(cost_rows) + "\n")
    if aggregated:
        sections.append("## Quality (cluttered digits)\n\n" + report.quality_markdown(aggregated))
    sections.append("## Targets\n\n```\n" + "\n".join(targets) + "\n```\n")
    text = "\n\n".join(sections)
    (out_dir / "summary.md").write_text(text)
    print("\n" + text)
    print(f"[benchmark] {minutes:.1f} min; outputs in {out_dir}: cost.csv, quality.csv, "
          "summary.md, benchmark.png")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
