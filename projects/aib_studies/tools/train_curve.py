"""How fast did each run learn? Its training cross-entropy per epoch, from MMEngine's logs.

    python projects/aib_studies/tools/train_curve.py \
        outputs/seeds/plain_s?/plain outputs/seeds/aib_s?/aib

Each argument is the work dir of an MMEngine run (a demo model, or ``tools/train.py``); its
newest ``<timestamp>/vis_data/scalars.json`` is read. The value per epoch is the mean of the
logged classification loss over that epoch (``loss_cls`` for the IB classifiers, ``loss`` for a
stock classifier, whose only loss it is). The demo's configs log it in bits. Runs whose paths
differ only in digits (``plain_s0``, ``plain_s1``, ...) also get a mean row.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work_dirs", nargs="+", help="run folders of MMEngine runs")
    args = parser.parse_args(argv)
    for work_dir in args.work_dirs:
        try:
            find_scalars(Path(work_dir))
        except FileNotFoundError as error:
            parser.error(str(error))
    return args


def find_scalars(work_dir: Path) -> Path:
    """The newest ``vis_data/scalars.json`` under a run folder.

    Raises:
        FileNotFoundError: if the folder has none.
    """
    found = sorted(work_dir.glob("*/vis_data/scalars.json"))
    if not found:
        raise FileNotFoundError(
            f"{work_dir}: no <timestamp>/vis_data/scalars.json (not an MMEngine run folder, or "
            "it logged nothing)"
        )
    return found[-1]


def epoch_losses(scalars: Path) -> dict[int, float]:
    """Mean classification loss per epoch of one ``scalars.json``.

    Raises:
        ValueError: if no training record carries ``loss_cls`` or ``loss``.
    """
    per_epoch: dict[int, list[float]] = defaultdict(list)
    for line in scalars.read_text().splitlines():
        record = json.loads(line)
        if "epoch" not in record:  # validation records
            continue
        value = record.get("loss_cls", record.get("loss"))
        if value is not None:
            per_epoch[int(record["epoch"])].append(float(value))
    if not per_epoch:
        raise ValueError(f"{scalars}: no training record with 'loss_cls' or 'loss'")
    return {epoch: statistics.fmean(values) for epoch, values in sorted(per_epoch.items())}


def group_of(work_dir: str) -> str:
    """The run's path with every digit run replaced by ``?`` (its seed-free name)."""
    return re.sub(r"\d+", "?", work_dir.rstrip("/"))


def curve_table(curves: dict[str, dict[int, float]]) -> str:
    """A markdown table: one row per run, and a mean row per group of two or more runs."""
    epochs = sorted({epoch for curve in curves.values() for epoch in curve})
    header = "| run | " + " | ".join(f"epoch {e}" for e in epochs) + " |"
    lines = [header, "|---|" + "---|" * len(epochs)]

    def row(name: str, values: list[float | None]) -> str:
        cells = ["-" if v is None else f"{v:.2f}" for v in values]
        return f"| {name} | " + " | ".join(cells) + " |"

    groups: dict[str, list[dict[int, float]]] = defaultdict(list)
    for name, curve in curves.items():
        lines.append(row(name, [curve.get(e) for e in epochs]))
        groups[group_of(name)].append(curve)
    for name, members in groups.items():
        if len(members) > 1:
            means = []
            for epoch in epochs:
                values = [m[epoch] for m in members if epoch in m]
                means.append(statistics.fmean(values) if len(values) == len(members) else None)
            lines.append(row(f"mean of {name} ({len(members)} runs)", means))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    curves = {d: epoch_losses(find_scalars(Path(d))) for d in args.work_dirs}
    print("Training classification loss per epoch (mean of the logged values; bits in the demo):")
    print()
    print(curve_table(curves))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
