"""Cost and speed of model variants: parameters, FLOPs, interleaved timing, peak memory.

Timing is interleaved: every repeat runs each measurement once for every variant (the order
rotates from repeat to repeat), so a slow phase of a shared machine hits all variants alike, and
overheads are the medians of per-repeat (paired) ratios to the plain model.

Peak memory of one training step: on CUDA ``torch.cuda.max_memory_allocated`` above the memory
allocated before the step (after a warm-up step); on CPU a fresh (spawned) worker process builds
the model, reads its resident set size (``/proc/self/statm``), runs one training step and reports
its peak RSS (``resource.getrusage(...).ru_maxrss``) minus that baseline: activations, gradients
and momentum buffers of the first step (a warm-up step would leave freed memory cached in the
allocator and hide the peak). Without ``/proc`` (non-Linux) it is NaN.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any, Optional

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .variants import Variant, build_variant

#: the measurements of :func:`time_interleaved`, seconds per call
TIMINGS = ("latency_b1", "batch_time", "train_step")


def count_params(model: torch.nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def attention_params(variant: Variant) -> int:
    """Parameters of the IB attention module (0 for models without one)."""
    return count_params(variant.attention_module()) if variant.is_aib else 0


def count_flops(variant: Variant, input_size: int, device: torch.device) -> int:
    """FLOPs of one eval forward at batch 1 (``torch.utils.flop_counter``; a multiply-add is 2).

    The counter covers matrix multiplications and convolutions, not element-wise operations.
    """
    variant.model.eval()
    x = torch.zeros(1, 3, input_size, input_size, device=device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        variant.infer(x)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Runner:
    """Holds inputs and an optimizer for one variant, and times its calls."""

    def __init__(
        self,
        variant: Variant,
        input_size: int,
        batch_size: int,
        train_batch_size: int,
        num_classes: int,
        device: torch.device,
        amp: bool,
    ) -> None:
        self.variant = variant
        self.device = device
        self.amp = amp
        g = torch.Generator().manual_seed(0)
        shape = (3, input_size, input_size)
        self.x1 = torch.randn(1, *shape, generator=g).to(device)
        self.xb = torch.randn(batch_size, *shape, generator=g).to(device)
        self.xt = torch.randn(train_batch_size, *shape, generator=g).to(device)
        self.yt = torch.randint(0, num_classes, (train_batch_size,), generator=g).to(device)
        self.optimizer = torch.optim.SGD(variant.model.parameters(), lr=1e-4, momentum=0.9)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")

    def _autocast(self) -> Any:
        if not self.amp:
            return nullcontext()
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype)

    def infer(self, x: torch.Tensor) -> float:
        self.variant.model.eval()
        _sync(self.device)
        start = time.perf_counter()
        with torch.inference_mode(), self._autocast():
            self.variant.infer(x)
        _sync(self.device)
        return time.perf_counter() - start

    def train_step(self) -> float:
        self.variant.model.train()
        _sync(self.device)
        start = time.perf_counter()
        with self._autocast():
            loss = self.variant.loss(self.xt, self.yt)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        _sync(self.device)
        return time.perf_counter() - start

    def measure(self, name: str, latency_iters: int) -> float:
        if name == "latency_b1":
            return float(np.mean([self.infer(self.x1) for _ in range(latency_iters)]))
        if name == "batch_time":
            return self.infer(self.xb)
        return self.train_step()


def time_interleaved(
    variants: Sequence[Variant],
    input_size: int,
    batch_size: int = 16,
    train_batch_size: int = 16,
    num_classes: int = 1000,
    repeats: int = 5,
    warmup: int = 2,
    latency_iters: int = 3,
    device: Optional[torch.device] = None,
    amp: bool = False,
    on_repeat: Optional[Callable[[], None]] = None,
) -> dict[str, dict[str, list[float]]]:
    """Time every variant round-robin: per repeat, each measurement once for each variant.

    Args:
        variants: the models (on ``device`` already).
        input_size: image side.
        batch_size: batch of the throughput measurement (eval).
        train_batch_size: batch of the training step.
        num_classes: label range of the training step.
        repeats: measured rounds.
        warmup: unmeasured rounds first.
        latency_iters: batch-1 forwards averaged into one latency sample.
        device: where the models are (default CPU).
        amp: autocast (float16 on CUDA, bfloat16 on CPU).
        on_repeat: called after every round (a progress bar's ``update``).

    Returns:
        ``{variant name: {measurement: [seconds per call, one per repeat]}}`` with the
        measurements of :data:`TIMINGS`.
    """
    device = device or torch.device("cpu")
    runners = [
        _Runner(v, input_size, batch_size, train_batch_size, num_classes, device, amp)
        for v in variants
    ]
    results = {v.name: {m: [] for m in TIMINGS} for v in variants}
    for round_index in range(warmup + repeats):
        shift = round_index % len(runners)
        order = runners[shift:] + runners[:shift]
        for measurement in TIMINGS:
            for runner in order:
                seconds = runner.measure(measurement, latency_iters)
                if round_index >= warmup:
                    results[runner.variant.name][measurement].append(seconds)
        if on_repeat is not None:
            on_repeat()
    return results


def paired_ratios(samples: Sequence[float], reference: Sequence[float]) -> np.ndarray:
    """Per-repeat ratios ``samples[i] / reference[i]`` (the same round of the interleaving)."""
    a, b = np.asarray(samples, dtype=float), np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"got {a.shape} samples but {b.shape} reference samples")
    return a / b


def median_iqr(values: Sequence[float]) -> tuple[float, float]:
    """Median and interquartile range."""
    q1, q2, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return float(q2), float(q3 - q1)


def _rss_bytes() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return float("nan")


def _memory_worker(spec: dict[str, Any]) -> float:
    """In a fresh process: peak RSS growth (bytes) of one training step, see the module docs."""
    torch.set_num_threads(spec["threads"])
    variant = build_variant(spec["backbone"], spec["variant"], spec["num_classes"], spec["size"])
    runner = _Runner(
        variant, spec["size"], 1, spec["batch"], spec["num_classes"], torch.device("cpu"), False
    )
    baseline = _rss_bytes()
    runner.train_step()  # the first step: activations, gradients, momentum buffers
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return float(peak - baseline)


def peak_train_memory(
    backbone: str,
    variant_name: str,
    input_size: int,
    train_batch_size: int,
    num_classes: int,
    device: torch.device,
    variant: Optional[Variant] = None,
    amp: bool = False,
) -> float:
    """Peak memory (bytes) of one training step above the memory held before it.

    CUDA: measured in this process on ``variant``. CPU: in a spawned worker (see module docs).
    """
    if device.type == "cuda":
        if variant is None:
            raise ValueError("CUDA memory is measured on a built variant")
        runner = _Runner(variant, input_size, 1, train_batch_size, num_classes, device, amp)
        runner.train_step()
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        runner.train_step()
        return float(torch.cuda.max_memory_allocated(device) - before)
    spec = dict(
        backbone=backbone,
        variant=variant_name,
        num_classes=num_classes,
        size=input_size,
        batch=train_batch_size,
        threads=torch.get_num_threads(),
    )
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_memory_worker, spec).result()
