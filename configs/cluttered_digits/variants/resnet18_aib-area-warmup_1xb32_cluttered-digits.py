# The area price with its warm-up, one learning rate for everything: the demo's AIB model without
# the faster attention BN. docs/experiments/variants.md compares them.
# Demo: python tools/demo.py --aib-config \
#     configs/cluttered_digits/variants/resnet18_aib-area-warmup_1xb32_cluttered-digits.py

_base_ = ["../resnet18_aib_1xb32_cluttered-digits.py"]

optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
