# AIB quantized (Q=20 anchors) WRN-50-2 on CUB-200-2011, the authors' CUB setting: the
# non-quantized config (wide-resnet50_aib_1xb16_cub.py) plus Q = 20 attention anchors, frozen at
# linspace(0, 1, Q) as in the authors' CUB code (the default; learn_anchors=True trains them).
# Train:  python tools/train.py configs/wide-resnet50_aib_qt_1xb16_cub.py

# a local base file (no base config from the mmpretrain package)
_base_ = ["./wide-resnet50_aib_1xb16_cub.py"]

model = dict(neck=dict(num_anchors=20))  # AIB quantized (_qt): Q frozen anchors
