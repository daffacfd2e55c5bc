# The area price alone (0.1 from the first step, one learning rate): the demo's AIB model before
# the warm-up and the faster attention BN were added. projects/aib_studies/experiments/variants.md
# compares them.
# Demo: python tools/demo.py --aib-config \
#   projects/aib_studies/configs/cluttered_digits/resnet18_aib-area_1xb32_cluttered-digits.py

_base_ = ["./resnet18_aib-paper_1xb32_cluttered-digits.py"]

model = dict(  # the plain area mean(mu_a), from the first step, neither gated nor free
    neck=dict(area_weight=0.1, area_mode="mean", area_gate="none", area_free=0.0)
)
