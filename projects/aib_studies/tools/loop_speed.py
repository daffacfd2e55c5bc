"""Where a benchmark family's training loop spends its time on a CPU, and what would speed it.

    python projects/aib_studies/tools/loop_speed.py --backbones resnet18 regnety_002 \
        --variants plain aib --threads 1 2

For each (backbone, variant) of ``tools/benchmark.py quality`` (its model, built from the
configs as the Runner builds it) it times the parts of one training iteration at the configs'
batch of 32 on 60x60 cluttered-MNIST images, and prints a markdown table of images per second:

- ``data``: reading a batch from ``ClutteredMNIST`` (fixed clutter, and fresh clutter drawn for
  the epoch) and collating it, as the dataloader does in the main process;
- ``step``: the data preprocessor, forward with the loss, backward and an AdamW step
  (MMEngine's ``OptimWrapper``), at each torch thread count of ``--threads``, in float32, with
  channels-last tensors, under bfloat16 autocast (``torch.autocast('cpu')``), and both.

The modes are timed round-robin (every round times each once) and the median round is reported.
The benchmark's runs use float32 and contiguous tensors: this tool measures what the other
settings would give, not what the runs use.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))

from aibtools.benchmark import quality as q  # noqa: E402
from aibtools.tables import markdown_table  # noqa: E402

#: step modes: (channels last, bfloat16 autocast)
MODES = {
    "float32": (False, False),
    "channels-last": (True, False),
    "bf16 autocast": (False, True),
    "bf16 + channels-last": (True, True),
}
BATCH = 32


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--backbones", nargs="+", default=["resnet18"], choices=list(q.FAMILIES))
    add("--variants", nargs="+", default=["plain", "aib"], choices=["plain", "aib", "aib_qt"])
    add("--threads", nargs="+", type=int, default=[2], help="torch thread counts to time")
    add("--rounds", type=int, default=5, help="timed rounds (after one warm-up round)")
    add("--steps", type=int, default=4, help="training iterations per timed round")
    args = parser.parse_args(argv)
    if min(args.threads) < 1 or args.rounds < 1 or args.steps < 1:
        parser.error("--threads, --rounds and --steps must be >= 1")
    return args


def data_batch(fresh: bool) -> tuple[Callable[[], Any], Any]:
    """A function that reads and collates one batch of 32 training samples, and the dataset."""
    from mmengine.dataset import pseudo_collate

    from aib_plugin.mmpretrain import ClutteredMNIST

    pack = dict(type="PackInputs", meta_keys=("sample_idx", "img_shape", "ori_shape", "gt_bbox"))
    dataset = ClutteredMNIST(
        split="train", num_images=2_000, pipeline=[pack], fresh_clutter=fresh, serialize_data=False
    )
    if fresh:
        dataset.set_epoch(1)
    state = dict(start=0)

    def read() -> Any:
        start = state["start"]
        state["start"] = (start + BATCH) % (len(dataset) - BATCH)
        return pseudo_collate([dataset[i] for i in range(start, start + BATCH)])

    return read, dataset


def step_function(model: Any, batch: Any, channels_last: bool, bf16: bool) -> Callable[[], None]:
    """One training iteration of ``model`` on ``batch`` in the given mode."""
    from mmengine.optim import OptimWrapper

    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    wrapper = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-4))

    def step() -> None:
        model.to(memory_format=memory_format)
        data = model.data_preprocessor(batch, True)
        inputs = data["inputs"].contiguous(memory_format=memory_format)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with autocast:
            losses = model(inputs, data["data_samples"], mode="loss")
        loss, _ = model.parse_losses(losses)
        wrapper.update_params(loss)

    return step


def time_round_robin(
    functions: dict[str, Callable[[], Any]], rounds: int, calls: int
) -> dict[str, float]:
    """Median seconds per call of each function; each round calls every function ``calls``
    times, in turn (one unmeasured round first)."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for round_index in range(rounds + 1):
        for name, function in functions.items():
            start = time.perf_counter()
            for _ in range(calls):
                function()
            if round_index:
                samples[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def measure(args: argparse.Namespace) -> list[list[str]]:
    """The table's rows: images per second of reading data and of each step mode."""
    rows = []
    fixed, _ = data_batch(fresh=False)
    fresh, _ = data_batch(fresh=True)
    data = time_round_robin(dict(fixed=fixed, fresh=fresh), args.rounds, args.steps)
    batch = fixed()
    for backbone in args.backbones:
        for variant in args.variants:
            torch.manual_seed(0)
            model = q.build_model(q.RunSpec(backbone, variant, 0))
            model.train()
            for threads in args.threads:
                torch.set_num_threads(threads)
                steps = {name: step_function(model, batch, *flags) for name, flags in MODES.items()}
                seconds = time_round_robin(steps, args.rounds, args.steps)
                rows.append(
                    [backbone, variant, str(threads)]
                    + [f"{BATCH / data[k]:.0f}" for k in ("fixed", "fresh")]
                    + [f"{BATCH / seconds[name]:.0f}" for name in MODES]
                )
            model.to(memory_format=torch.contiguous_format)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    header = ["backbone", "variant", "threads", "data fixed", "data fresh"]
    header += [f"step {name}" for name in MODES]
    print(f"Images per second (median of {args.rounds} rounds x {args.steps} iterations, batch "
          f"{BATCH}, 60x60); torch {torch.__version__}")  # fmt: skip
    print(markdown_table(header, measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
