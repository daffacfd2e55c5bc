"""Benchmark outputs: CSV files, markdown tables, PNG plots, targets.

Cost: a table of overheads against the plain model and PASS/FAIL lines of the light head's
limits. Quality: the tools' one report (:mod:`aibtools.report`: means ± standard deviations
over seeds with the worst seed of the AIB rows, the targets at every seed; its names are kept
here as aliases), plus what only the benchmark adds: the rows an earlier run's CSV joins to a
run, the published anchors, and a plot of top-1 error against MaxBoxAccV2 and against energy
in box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..report import means_markdown, read_rows_csv, size_label, targets_markdown, write_csv
from ..scores import AIB_VARIANTS, ROW_COLUMNS, SCORES, TARGETS, aggregate, setting, target_checks
from ..tables import markdown_table

#: columns of the cost CSV (one row per backbone and variant)
COST_COLUMNS = (
    "backbone", "variant", "status", "input_size", "params", "params_ratio", "attention_params",
    "gflops", "gflops_ratio",
    "latency_b1_ms", "latency_b1_iqr_ms", "latency_b1_ratio", "latency_b1_ratio_iqr",
    "batch_ms", "batch_iqr_ms", "throughput_img_s", "batch_ratio", "batch_ratio_iqr",
    "train_step_ms", "train_step_iqr_ms", "train_step_ratio", "train_step_ratio_iqr",
    "train_peak_mem_mb", "mem_ratio",
)  # fmt: skip
PARAM_LIMIT, LATENCY_LIMIT = 0.03, 0.05
#: the quality CSV's columns, scores, targets and judged variants: the tools' one set
#: (:mod:`aibtools.scores`), under the names this module has always given them
QUALITY_COLUMNS = ROW_COLUMNS
QUALITY_SCORES = SCORES
QUALITY_TARGETS = TARGETS
JUDGED_VARIANTS = AIB_VARIANTS
#: the quality rows' aggregation, checks and tables (:mod:`aibtools.scores`,
#: :mod:`aibtools.report`), under their earlier names
aggregate_quality = aggregate
quality_checks = target_checks
quality_markdown = means_markdown
read_quality_csv = read_rows_csv
_setting = setting
_size = size_label

__all__ = [
    "COST_COLUMNS", "JUDGED_VARIANTS", "QUALITY_COLUMNS", "QUALITY_SCORES", "QUALITY_TARGETS",
    "aggregate_quality", "cost_markdown", "cost_targets", "kept_rows", "plot_cost",
    "plot_quality", "published_markdown", "quality_checks", "quality_markdown",
    "read_quality_csv", "reference_rows", "targets_markdown", "write_csv",
]  # fmt: skip


def reference_rows(
    reference: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of ``reference`` that judge and complete ``rows``: the models without IB
    attention (plain, SE, CBAM) of the same backbone, reduction (sizes) and seed as one of its
    AIB rows, where ``rows`` has no such model itself."""
    wanted = {(*_setting(r), r["seed"]) for r in rows if r["variant"] in JUDGED_VARIANTS}
    have = {(*_setting(r), r["seed"], r["variant"]) for r in rows}
    return [
        r
        for r in reference
        if r["variant"] not in JUDGED_VARIANTS
        and (*_setting(r), r["seed"]) in wanted
        and (*_setting(r), r["seed"], r["variant"]) not in have
    ]


def kept_rows(
    earlier: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of ``earlier`` for the models ``rows`` does not train again: a model is a
    backbone, variant and data size (training and test images); all its seeds and epochs go
    together, so a model trained again leaves none of its earlier rows behind."""
    trained = {_model(r) for r in rows}
    return [r for r in earlier if _model(r) not in trained]


def _model(row: dict[str, Any]) -> tuple[str, str, int, int]:
    return row["backbone"], row["variant"], row["train_images"], row["test_images"]


def _fmt(value: Any, spec: str) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def _pct(ratio: Any) -> str:
    return "-" if ratio in (None, "") or math.isnan(ratio) else f"{100 * (ratio - 1):+.1f}%"


def cost_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """Cost and speed table: absolute values and overhead against the plain model."""
    header = [
        "backbone", "variant", "params M (vs plain)", "attn params K", "GFLOPs (vs plain)",
        "latency b1 ms [IQR] (vs plain)", "batch ms [IQR] (vs plain)", "img/s",
        "train step ms [IQR] (vs plain)", "train peak MB (vs plain)",
    ]  # fmt: skip
    body = []
    for r in rows:
        if r["status"] != "ok":  # the status, then empty cells
            body.append([r["backbone"], r["variant"], r["status"]] + [""] * (len(header) - 3))
            continue
        body.append(
            [
                r["backbone"],
                r["variant"],
                f"{r['params'] / 1e6:.2f} ({_pct(r['params_ratio'])})",
                f"{r['attention_params'] / 1e3:.1f}",
                f"{_fmt(r['gflops'], '.2f')} ({_pct(r['gflops_ratio'])})",
                f"{r['latency_b1_ms']:.1f} [{r['latency_b1_iqr_ms']:.1f}] "
                f"({_pct(r['latency_b1_ratio'])})",
                f"{r['batch_ms']:.0f} [{r['batch_iqr_ms']:.0f}] ({_pct(r['batch_ratio'])})",
                f"{r['throughput_img_s']:.1f}",
                f"{r['train_step_ms']:.0f} [{r['train_step_iqr_ms']:.0f}] "
                f"({_pct(r['train_step_ratio'])})",
                f"{_fmt(r['train_peak_mem_mb'], '.0f')} ({_pct(r['mem_ratio'])})",
            ]
        )
    return markdown_table(header, body)


def _find(rows: Sequence[dict[str, Any]], backbone: str, variant: str) -> dict[str, Any] | None:
    for r in rows:
        if r["backbone"] == backbone and r["variant"] == variant and r.get("status", "ok") == "ok":
            return r
    return None


def cost_targets(rows: Sequence[dict[str, Any]], backbone: str = "resnet50") -> list[str]:
    """PASS/FAIL lines of the light head's overhead on ``backbone`` at 224x224 (SKIP if absent)."""
    plain, light = _find(rows, backbone, "plain"), _find(rows, backbone, "aib")
    name = f"{backbone} 224x224"
    if plain is None or light is None or light["input_size"] != 224:
        return [f"SKIP  light AIB head overhead on {name}: not measured in this run"]
    paper = _find(rows, backbone, "aib_paper")

    def paper_note(key: str) -> str:
        return f"; paper head {_pct(paper[key])}" if paper is not None else ""

    lines = []
    ratio = light["params_ratio"]
    verdict = "PASS" if ratio - 1 <= PARAM_LIMIT else "FAIL"
    lines.append(
        f"{verdict}  params, light AIB head vs plain {name}: {_pct(ratio)} (limit "
        f"+{100 * PARAM_LIMIT:.0f}%; attention module alone {light['attention_params']:,} = "
        f"{100 * light['attention_params'] / plain['params']:.2f}% of plain; the rest is the "
        f"bottleneck + decoder replacing the classifier){paper_note('params_ratio')}"
    )
    for key, label in (("latency_b1_ratio", "batch 1"), ("batch_ratio", "batch 16")):
        ratio = light[key]
        verdict = "PASS" if ratio - 1 <= LATENCY_LIMIT else "FAIL"
        lines.append(
            f"{verdict}  CPU latency {label}, light AIB head vs plain {name}: {_pct(ratio)} "
            f"(median of paired ratios, IQR {100 * light[key + '_iqr']:.1f} points; limit "
            f"+{100 * LATENCY_LIMIT:.0f}%){paper_note(key)}"
        )
    return lines


def plot_cost(cost_rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Overhead of each variant against the plain model, per backbone (bars: IQR / 2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax_cost = plt.subplots(figsize=(8, 5.5))
    ok = [r for r in cost_rows if r["status"] == "ok" and r["variant"] != "plain"]
    backbones = list(dict.fromkeys(r["backbone"] for r in cost_rows))
    variants = list(dict.fromkeys(r["variant"] for r in ok))
    metrics = (("latency_b1_ratio", "latency b1"), ("train_step_ratio", "train step"))
    width = 0.8 / max(len(variants) * len(metrics), 1)
    x = np.arange(len(backbones))
    bar = 0
    for variant in variants:
        for key, label in metrics:
            heights, errors = [], []
            for backbone in backbones:
                r = _find(ok, backbone, variant)
                heights.append(100 * (r[key] - 1) if r else np.nan)
                errors.append(100 * r[key + "_iqr"] / 2 if r else 0.0)
            ax_cost.bar(
                x + (bar - (len(variants) * len(metrics) - 1) / 2) * width,
                heights,
                width,
                yerr=errors,
                label=f"{variant}: {label}",
            )
            bar += 1
    ax_cost.axhline(100 * LATENCY_LIMIT, color="k", ls="--", lw=0.8, label="+5% target")
    ax_cost.axhline(0, color="k", lw=0.5)
    ax_cost.set_xticks(x, backbones, rotation=30, ha="right", fontsize=8)
    ax_cost.set_ylabel("overhead vs plain (%), median of paired ratios, bars: IQR/2")
    ax_cost.set_yscale("symlog", linthresh=10)
    ax_cost.set_title("cost of AIB variants")
    ax_cost.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ----------------------------------------------------------------------------- quality


def published_markdown() -> str:
    """The published test errors on cluttered MNIST, to read beside the table."""
    from aib_plugin.datasets.cluttered_mnist import PUBLISHED_TEST_ERRORS

    header = ["published model", "canvas", "distractors", "top-1 err %", "source"]
    body = [
        [
            p.name,
            f"{p.canvas}x{p.canvas}",
            str(p.num_distractors),
            f"{p.test_error:.2f}",
            p.reference,
        ]
        for p in PUBLISHED_TEST_ERRORS
    ]
    return markdown_table(header, body)


def plot_quality(aggregated: Sequence[dict[str, Any]], path: Path) -> None:
    """Top-1 error against MaxBoxAccV2 (left) and against energy in box (right).

    One point per backbone (colour; a setting with other image counts gets its own colour) and
    variant (marker), error bars: the standard deviation over seeds.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, 2, figsize=(14, 6), sharey=True)
    settings = list(dict.fromkeys(_setting(a) for a in aggregated))
    several = {b for b, _ in settings if sum(s[0] == b for s in settings) > 1}
    colours = plt.get_cmap("tab10")
    markers = dict(plain="o", se="s", cbam="D", aib="*", aib_qt="P")

    def label(setting: tuple[str, str]) -> str:
        backbone, reduction = setting
        return f"{backbone} ({_size(reduction)})" if backbone in several else backbone

    for ax, (key, xlabel) in zip(
        axes, (("max_box_acc_v2", "MaxBoxAccV2 %"), ("energy", "energy in box %")), strict=True
    ):
        for a in aggregated:
            ax.errorbar(
                a[key],
                a["top1_err"],
                xerr=a[key + "_std"],
                yerr=a["top1_err_std"],
                marker=markers.get(a["variant"], "x"),
                color=colours(settings.index(_setting(a)) % 10),
                ms=10 if a["variant"] in JUDGED_VARIANTS else 7,
                capsize=2,
                ls="none",
            )
        ax.set_xlabel(f"{xlabel} (the model's map: IB attention or Grad-CAM)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("top-1 error % (lower is better)")
    axes[0].set_title("top-1 error vs MaxBoxAccV2")
    axes[1].set_title("top-1 error vs energy in box")
    handles = [
        Line2D([], [], color=colours(i % 10), marker="o", ls="none", label=label(s))
        for i, s in enumerate(settings)
    ]
    handles += [
        Line2D([], [], color="grey", marker=m, ls="none", label=v)
        for v, m in markers.items()
        if any(a["variant"] == v for a in aggregated)
    ]
    if handles:
        # beside the plots, never over a point
        fig.legend(handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    else:
        for ax in axes:
            ax.text(0.5, 0.5, "no runs", ha="center", transform=ax.transAxes)
    fig.suptitle("cluttered MNIST 60x60: mean ± std over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
