# AIB quantized (Q=20 anchors) WRN-28-10 on CIFAR100, as the paper (K=512, dropout 0.3, SGD 0.1,
# 200 epochs, x0.2 at 60/120/160, batch 128)
# The non-quantized config (wrn28-10_aib_8xb16_cifar100.py) plus Q = 20 attention anchors,
# learnable as in the authors' CIFAR code.
# Train:  python tools/train.py configs/wrn28-10_aib_qt_8xb16_cifar100.py

# a local base file (no base config from the mmpretrain package)
_base_ = ["./wrn28-10_aib_8xb16_cifar100.py"]

model = dict(neck=dict(num_anchors=20, learn_anchors=True))  # AIB quantized (_qt): Q anchors
# AIB: learnable anchors, trained by the codebook loss (the authors' CIFAR code)
# AIB: the paper trains the anchors with 1e-4 x the base learning rate
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={".anchors": dict(lr_mult=1e-4)}))
