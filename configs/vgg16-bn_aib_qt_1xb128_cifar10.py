# AIB quantized (Q=20 anchors) VGG-16-BN on CIFAR10, the authors' CIFAR-VGG setting: the
# non-quantized config (vgg16-bn_aib_1xb128_cifar10.py) plus Q = 20 attention anchors, learnable
# and trained at 1e-4 x the base learning rate, as in the authors' CIFAR code.
# Train:  python tools/train.py configs/vgg16-bn_aib_qt_1xb128_cifar10.py

_base_ = ["./vgg16-bn_aib_1xb128_cifar10.py"]

model = dict(num_anchors=20, learn_anchors=True)  # AIB quantized (_qt): Q learnable anchors
# AIB: the paper trains the anchors with 1e-4 x the base learning rate
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={".anchors": dict(lr_mult=1e-4)}))
