"""Benchmark outputs: CSV files, markdown tables, the PNG plot and the PASS/FAIL target lines."""

from __future__ import annotations

import csv
import math
import operator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..tables import markdown_table, mean_std
from ..targets import Target, check

#: columns of the cost CSV (one row per backbone and variant)
COST_COLUMNS = (
    "backbone", "variant", "status", "input_size", "params", "params_ratio", "attention_params",
    "gflops", "gflops_ratio",
    "latency_b1_ms", "latency_b1_iqr_ms", "latency_b1_ratio", "latency_b1_ratio_iqr",
    "batch_ms", "batch_iqr_ms", "throughput_img_s", "batch_ratio", "batch_ratio_iqr",
    "train_step_ms", "train_step_iqr_ms", "train_step_ratio", "train_step_ratio_iqr",
    "train_peak_mem_mb", "mem_ratio",
)  # fmt: skip
#: columns of the quality CSV (one row per backbone, variant and seed)
QUALITY_COLUMNS = (
    "backbone", "variant", "seed", "map", "accuracy", "pointing_game", "energy_in_box",
    "box_accuracy", "train_seconds", "params",
)  # fmt: skip
PARAM_LIMIT, LATENCY_LIMIT = 0.03, 0.05
#: the quality targets of AIB against the plain model (PASS if they hold on the means over seeds)
QUALITY_TARGETS = (
    Target("accuracy", "AIB >= plain", operator.ge),
    Target("energy_in_box", "AIB > plain", operator.gt),
)


def write_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Write ``rows`` with exactly ``columns`` (missing values empty)."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in columns})


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


def aggregate_quality(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation over seeds (0 for one seed), per backbone and variant."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["backbone"], r["variant"]), []).append(r)
    out = []
    for (backbone, variant), group in groups.items():
        agg: dict[str, Any] = dict(
            backbone=backbone, variant=variant, map=group[0]["map"], seeds=len(group)
        )
        for key in ("accuracy", "pointing_game", "energy_in_box", "box_accuracy", "train_seconds"):
            agg[key], agg[key + "_std"] = mean_std([g[key] for g in group])
        out.append(agg)
    return out


def quality_markdown(aggregated: Sequence[dict[str, Any]]) -> str:
    """Quality table: mean ± std over seeds."""
    header = ["backbone", "variant", "map", "seeds", "top-1 %", "pointing game %"]
    header += ["energy in box %", "box acc %", "train s"]
    body = [
        [a["backbone"], a["variant"], a["map"], str(a["seeds"])]
        + [
            f"{a[k]:.1f} ± {a[k + '_std']:.1f}"
            for k in ("accuracy", "pointing_game", "energy_in_box", "box_accuracy")
        ]
        + [f"{a['train_seconds']:.0f}"]
        for a in aggregated
    ]
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


def quality_targets(rows: Sequence[dict[str, Any]]) -> list[str]:
    """PASS/FAIL lines of :data:`QUALITY_TARGETS` per backbone, on the means over seeds.

    ``rows`` are the per-seed quality rows; the AIB model and the plain one are paired by seed.
    """
    lines = []
    for backbone in dict.fromkeys(r["backbone"] for r in rows):
        plain = {r["seed"]: r for r in rows if (r["backbone"], r["variant"]) == (backbone, "plain")}
        pairs = [
            (r, plain[r["seed"]])
            for r in rows
            if (r["backbone"], r["variant"]) == (backbone, "aib") and r["seed"] in plain
        ]
        if not pairs:
            lines.append(f"SKIP  quality targets on {backbone}: plain or aib missing")
            continue
        accuracy, energy = (check(target, pairs) for target in QUALITY_TARGETS)
        seeds = f"mean over {accuracy['seeds']} seed(s)"
        lines.append(
            f"{_verdict(accuracy)}  accuracy on cluttered digits, {backbone}: AIB "
            f"{accuracy['value']:.1f}% vs plain {accuracy['reference_value']:.1f}% ({seeds}; "
            f"target {accuracy['target']})"
        )
        lines.append(
            f"{_verdict(energy)}  energy in box, {backbone}: AIB attention {energy['value']:.1f}% "
            f"vs plain Grad-CAM {energy['reference_value']:.1f}% ({seeds}; target "
            f"{energy['target']})"
        )
    return lines


def _verdict(target_check: dict[str, Any]) -> str:
    return "PASS" if target_check["met_on_means"] else "FAIL"


def plot(
    cost_rows: Sequence[dict[str, Any]], aggregated: Sequence[dict[str, Any]], path: Path
) -> None:
    """Left: overhead vs the plain model per backbone; right: accuracy vs energy in box."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_cost, ax_quality) = plt.subplots(1, 2, figsize=(15, 5.5))
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
    if not ok:
        ax_cost.text(0.5, 0.5, "cost part not run", ha="center", transform=ax_cost.transAxes)
    markers = dict(plain="o", se="s", cbam="D", aib="*", aib_qt="P")
    for a in aggregated:
        ax_quality.errorbar(
            a["energy_in_box"],
            a["accuracy"],
            xerr=a["energy_in_box_std"],
            yerr=a["accuracy_std"],
            marker=markers.get(a["variant"], "x"),
            ms=9,
            capsize=2,
            label=f"{a['backbone']} {a['variant']} ({a['map']})",
        )
    ax_quality.set_xlabel("energy in box % (localization)")
    ax_quality.set_ylabel("top-1 accuracy %")
    ax_quality.set_title("cluttered digits: accuracy vs localization (mean ± std over seeds)")
    if aggregated:
        ax_quality.legend(fontsize=7)
    else:
        ax_quality.text(
            0.5, 0.5, "quality part not run", ha="center", transform=ax_quality.transAxes
        )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
