# The area price with its warm-up, one learning rate for everything: the demo's AIB model without
# the faster attention BN. projects/aib_studies/experiments/variants.md compares them.
# Demo: python tools/demo.py --aib-config \
#   projects/aib_studies/configs/cluttered_digits/resnet18_aib-area-warmup_1xb32_cluttered-digits.py

_base_ = ["../../../../configs/cluttered_digits/resnet18_aib_1xb32_cluttered-digits.py"]

optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
