# AIB quantized (Q=20 anchors) ResNet-50 on ImageNet-1k, MMPretrain's ResNet-50 schedule (SGD 0.1,
# 100 epochs, x0.1 at 30/60/90, batch 256)
# The non-quantized config (resnet50_aib_8xb32_in1k.py) plus Q = 20 attention anchors, frozen at
# linspace(0, 1, Q) (the default).
# Train:  python tools/train.py configs/resnet50_aib_qt_8xb32_in1k.py

# a local base file (no base config from the mmpretrain package)
_base_ = ["./resnet50_aib_8xb32_in1k.py"]

model = dict(neck=dict(num_anchors=20))  # AIB quantized (_qt): Q frozen anchors
