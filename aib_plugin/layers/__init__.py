"""The IB math, in pure PyTorch: attention, quantizer, bottleneck, decoder and loss terms."""

from .attention_heads import (
    ConvAttentionHead,
    LightAttentionHead,
    PaperAttentionHead,
    stride_one_copy,
)
from .bottleneck import KL_MODES, BottleneckOutput, VariationalBottleneck, gaussian_kl_bits
from .decoder import IBDecoder, mc_average
from .ib_attention import AttentionOutput, IBSpatialAttention
from .ib_core import IBOptions, PooledIB, run_pooled_ib, split_mc_samples
from .ib_loss import (
    BITS_PER_NAT,
    DEFAULT_AREA_WEIGHT,
    DEFAULT_BETA,
    DEFAULT_CODEBOOK_WEIGHT,
    DEFAULT_COMMITMENT_WEIGHT,
    IBLossTerms,
    IBObjective,
    classifier_confidence,
    cross_entropy_bits,
)
from .param_groups import ib_param_groups
from .placement import IBAttentionAdapter, capture_attention, set_submodule, wrap_stage
from .probe import probe_forward, probe_module
from .quantizer import ANCHOR_LR_RATIO, AnchorQuantizer, AnchorUsage, QuantizerOutput, anchor_usage
from .statistics import SPARSITY_THRESHOLD, attention_statistics, ib_log_dict

__all__ = [
    "ANCHOR_LR_RATIO",
    "BITS_PER_NAT",
    "DEFAULT_AREA_WEIGHT",
    "DEFAULT_BETA",
    "DEFAULT_CODEBOOK_WEIGHT",
    "DEFAULT_COMMITMENT_WEIGHT",
    "KL_MODES",
    "SPARSITY_THRESHOLD",
    "AnchorQuantizer",
    "AnchorUsage",
    "AttentionOutput",
    "BottleneckOutput",
    "ConvAttentionHead",
    "IBAttentionAdapter",
    "IBDecoder",
    "IBLossTerms",
    "IBObjective",
    "IBOptions",
    "IBSpatialAttention",
    "LightAttentionHead",
    "PaperAttentionHead",
    "PooledIB",
    "QuantizerOutput",
    "VariationalBottleneck",
    "anchor_usage",
    "attention_statistics",
    "capture_attention",
    "classifier_confidence",
    "cross_entropy_bits",
    "gaussian_kl_bits",
    "ib_log_dict",
    "ib_param_groups",
    "mc_average",
    "probe_forward",
    "probe_module",
    "run_pooled_ib",
    "set_submodule",
    "split_mc_samples",
    "stride_one_copy",
    "wrap_stage",
]
