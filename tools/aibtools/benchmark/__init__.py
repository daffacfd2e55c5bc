"""Benchmark helpers behind ``tools/benchmark.py``: model variants, cost and speed, quality.

- :mod:`.variants`: build a backbone as plain / AIB (light or paper head) / AIB quantized
  (and, for the quality run, timm's SE and CBAM), for timm and MMPretrain backbones alike.
- :mod:`.cost`: parameters, FLOPs, interleaved latency / throughput / training-step timing,
  peak memory.
- :mod:`.quality`: short training runs on cluttered digits, accuracy and localization scores.
- :mod:`.report`: CSV, markdown, PNG plot and the PASS/FAIL target lines.
"""

from .variants import COST_VARIANTS, QUALITY_VARIANTS, NotApplicable, Variant, build_variant

__all__ = ["COST_VARIANTS", "QUALITY_VARIANTS", "NotApplicable", "Variant", "build_variant"]
