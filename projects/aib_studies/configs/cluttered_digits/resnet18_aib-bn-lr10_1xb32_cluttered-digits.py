# The demo's AIB model with the attention BN at 10x the learning rate instead of 3x: sharper maps
# (more energy in the box), lower accuracy. projects/aib_studies/experiments/variants.md compares
# them.
# Demo: python tools/demo.py --aib-config \
#   projects/aib_studies/configs/cluttered_digits/resnet18_aib-bn-lr10_1xb32_cluttered-digits.py

_base_ = ["../../../../configs/cluttered_digits/resnet18_aib_1xb32_cluttered-digits.py"]

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={"ib_attention.attn.head.bn.": dict(lr_mult=10.0)})
)
