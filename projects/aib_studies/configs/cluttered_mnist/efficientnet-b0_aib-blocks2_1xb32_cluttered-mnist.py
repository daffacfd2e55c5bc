# EfficientNet-B0 with the IB attention at the input of blocks.2 (timm feature index -3: 24
# channels on 15x15 cells of 4 px) instead of the paper's last stage, whose 4x4 cells each see
# the whole digit (projects/aib_studies/experiments/zoo_backbone_budget.md); otherwise the configs'
# AIB recipe and the benchmark's CPU reduction for this backbone (output stride 16).
# Train: python tools/train.py \
#  projects/aib_studies/configs/cluttered_mnist/efficientnet-b0_aib-blocks2_1xb32_cluttered-mnist.py

_base_ = ["../../../../configs/cluttered_mnist/timm-resnet18_aib_1xb32_cluttered-mnist.py"]

model = dict(model_name="efficientnet_b0_aib", output_stride=16, attention_at=-3)
