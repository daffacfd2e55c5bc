"""The tools' one quality report: markdown tables, and the CSV and JSON of the result rows.

``demo.py`` and ``benchmark.py quality`` print :func:`quality_sections` (means ± standard
deviations over seeds, the targets with their per-seed verdicts) and write
``<stem>.csv`` / ``<stem>.json`` / ``<stem>.md`` with :func:`write_outputs`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .scores import (
    AIB_VARIANTS,
    MAX_PLAIN_ERROR,
    ROW_COLUMNS,
    SCORES,
    aggregate,
    target_checks,
)
from .tables import markdown_table

#: columns of a result CSV read back as whole numbers; the rest but the text ones are floats
_INT_COLUMNS = ("seed", "train_images", "test_images", "epochs", "params")
_TEXT_COLUMNS = ("backbone", "variant", "map", "reduction")
MEANS_TITLE = "## Means ± standard deviations over seeds (AIB rows: worst seed in brackets)"
TARGETS_TITLE = "## Targets: AIB attention against the plain model's Grad-CAM, at every seed"


def write_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Write ``rows`` with exactly ``columns`` (missing values empty)."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in columns})


def read_rows_csv(path: Path) -> list[dict[str, Any]]:
    """The result rows of a CSV written by :func:`write_csv`, with their numbers as numbers.

    Raises:
        ValueError: if the file lacks one of :data:`aibtools.scores.ROW_COLUMNS`.
    """
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ROW_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: not a quality CSV, no column {', '.join(missing)}")
        rows = list(reader)
    for row in rows:
        for key in ROW_COLUMNS:
            if key not in _TEXT_COLUMNS:
                row[key] = int(row[key]) if key in _INT_COLUMNS else float(row[key])
    return rows


def size_label(reduction: str) -> str:
    """The training images and epochs of a reduction label (``'full'`` when it has neither)."""
    parts = [p for p in reduction.split("; ") if "train images" in p or "epochs" in p]
    return "; ".join(parts) or "full"


def means_markdown(aggregated: Sequence[dict[str, Any]]) -> str:
    """Means ± standard deviations over seeds (a single seed: its value); AIB attention rows
    add their worst seed in brackets."""
    header = ["backbone", "variant", "map", "seeds"] + [label for _, label, _ in SCORES]
    header += ["train min / run", "train img/s", "reduction"]
    body = []
    for a in aggregated:
        cells = [a["backbone"], a["variant"], a["map"], str(a["seeds"])]
        judged = a["variant"] in AIB_VARIANTS and a["map"] == "IB attention"
        for key, _, _ in SCORES:
            cell = f"{a[key]:.1f}"
            if a["seeds"] > 1:
                cell += f" ± {a[key + '_std']:.1f}"
                if judged:
                    cell += f" (worst {a[key + '_worst']:.1f})"
            cells.append(cell)
        cells += [f"{a['train_minutes']:.2f}", f"{train_images_per_second(a):.0f}", a["reduction"]]
        body.append(cells)
    return markdown_table(header, body)


def targets_markdown(checks: Sequence[dict[str, Any]]) -> str:
    """The checks as a table: the plain model's top-1 error, the seeds where each target holds
    (among the seeds whose plain model learned the task), whether it holds on the means, and
    the verdict: PASS only if it holds at every judged seed, 'not learned' if none is judged."""
    header = ["backbone", "train images x epochs", "model", "plain top-1 err %", "target"]
    header += ["AIB", "plain", "difference", "seeds met", "on the means", "verdict"]
    body = []
    for c in checks:
        difference = f"{c['difference']:+.1f}"
        if c["difference_se"] is not None:
            difference += f" ± {c['difference_se']:.1f} (s.e.)"
        not_learned = c.get("not_learned", [])
        seeds = f"{c['met']}/{c['seeds']}"
        if not_learned and c["verdict"] != "not learned":
            seeds += f" (not learned: seed {', '.join(str(s) for s in not_learned)})"
        body.append(
            [
                c["backbone"],
                size_label(c["reduction"]),
                f"{c['model']} vs {c.get('reference', 'plain')}",
                f"{c['plain_error']:.1f}",
                c["target"],
                f"{c['value']:.1f}",
                f"{c['reference_value']:.1f}",
                difference,
                "-" if c["verdict"] == "not learned" else seeds,
                "met" if c["met_on_means"] else "missed",
                c["verdict"],
            ]
        )
    return markdown_table(header, body)


def train_images_per_second(row: dict[str, Any]) -> float:
    """Training images per second of a run's whole Runner loop (building the Runner, data,
    steps, hooks and the last validation): ``train_images x epochs / train_minutes``."""
    seconds = 60.0 * float(row["train_minutes"])
    return float(row["train_images"]) * float(row["epochs"]) / seconds if seconds else math.nan


def runs_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """One line per result row (run and map)."""
    header = ["backbone", "variant", "seed", "map"] + [label for _, label, _ in SCORES]
    header += ["train images", "epochs", "train min", "train img/s", "maps min"]
    body = [
        [r["backbone"], r["variant"], str(r["seed"]), r["map"]]
        + [f"{r[key]:.1f}" for key, _, _ in SCORES]
        + [f"{r['train_images']:,}", str(r["epochs"])]
        + [f"{r['train_minutes']:.2f}", f"{train_images_per_second(r):.0f}"]
        + [f"{r['eval_minutes']:.2f}"]
        for r in rows
    ]
    return markdown_table(header, body)


def quality_sections(
    rows: Sequence[dict[str, Any]], one_seed_note: str, max_plain_error: float = MAX_PLAIN_ERROR
) -> list[str]:
    """The means over seeds and the targets of ``rows``, as markdown sections.

    ``one_seed_note`` follows the targets when no check has more than one seed; a seed whose
    plain model is above ``max_plain_error`` % top-1 error is not judged
    (:func:`aibtools.scores.target_checks`).
    """
    checks = target_checks(rows, max_plain_error)
    sections = [MEANS_TITLE, means_markdown(aggregate(rows)), TARGETS_TITLE]
    if not checks:
        sections.append("No AIB model has a plain reference.")
        return sections
    sections.append(targets_markdown(checks))
    sections.append(
        f"A seed whose plain model has more than {max_plain_error:g}% top-1 error has not learned "
        "the task and is not judged (--max-plain-error); a backbone with no judged seed is "
        "'not learned', neither met nor failed."
    )
    if max(c["seeds"] for c in checks) == 1:
        sections.append(one_seed_note)
    return sections


def write_outputs(
    rows: Sequence[dict[str, Any]],
    out_dir: Path,
    stem: str,
    markdown: str,
    max_plain_error: float = MAX_PLAIN_ERROR,
) -> list[Path]:
    """Write ``<stem>.csv`` (the rows), ``<stem>.json`` (rows, means over seeds, targets judged
    with ``max_plain_error``) and ``<stem>.md`` (``markdown``) into ``out_dir``; returns their
    paths."""
    csv_path, json_path, md_path = (out_dir / f"{stem}.{ext}" for ext in ("csv", "json", "md"))
    write_csv(rows, ROW_COLUMNS, csv_path)
    summary = dict(
        rows=list(rows), means=aggregate(rows), targets=target_checks(rows, max_plain_error)
    )
    json_path.write_text(json.dumps(summary, indent=2))
    md_path.write_text(markdown)
    return [csv_path, json_path, md_path]
