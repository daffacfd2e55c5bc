# AIB quantized (Q=20 anchors) WRN-50-2 on CUB-200-2011, as the paper's CUB setting (224 crops,
# Adam 1e-4, 200 epochs, batch 64)
# The non-quantized config (wide-resnet50_aib_8xb8_cub.py) plus Q = 20 learnable attention anchors.
# Train:  python tools/train.py configs/wide-resnet50_aib_qt_8xb8_cub.py

# a local base file (no base config from the mmpretrain package)
_base_ = ["./wide-resnet50_aib_8xb8_cub.py"]

model = dict(neck=dict(num_anchors=20))  # AIB quantized (_qt): Q anchors
# AIB: the paper trains the anchors with 1e-4 x the base learning rate
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={".anchors": dict(lr_mult=1e-4)}))
