"""Benchmark helpers behind ``tools/benchmark.py``: model variants, cost and speed, quality.

- :mod:`.variants`: build a backbone as plain / AIB (light or paper head) / AIB quantized, for
  timm and MMPretrain backbones alike (the cost part).
- :mod:`.cost`: parameters, FLOPs, interleaved latency / throughput / training-step timing,
  peak memory.
- :mod:`.quality`: cluttered-MNIST runs across backbone families, each a config of
  ``configs/cluttered_mnist/`` trained by MMEngine's Runner, and the scores of their maps.
- :mod:`.report`: CSV, markdown, PNG plots and the targets of both parts.
"""

from .variants import COST_VARIANTS, NotApplicable, Variant, build_variant

__all__ = ["COST_VARIANTS", "NotApplicable", "Variant", "build_variant"]
