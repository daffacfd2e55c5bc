# AIB WRN-28-10 on CIFAR100, as the paper (K=512, dropout 0.3, SGD 0.1, 200 epochs, x0.2 at
# 60/120/160, batch 128): the ResNet-18 config beside it with the paper's CIFAR backbone.
# Self-contained MMPretrain config (a local base file, no base config from the mmpretrain package).
# Train:  python tools/train.py configs/wrn28-10_aib_8xb16_cifar100.py

_base_ = ["./resnet18_aib_8xb16_cifar100.py"]

model = dict(
    backbone=dict(
        _delete_=True,
        type="WideResNet_CIFAR",  # AIB package: WRN-d-k for 32x32
        depth=28,
        widen_factor=10,
        drop_rate=0.3,
        out_indices=(2,),
    ),
    neck=dict(in_channels=640, bottleneck_dim=512),  # K = 512 as the paper's CIFAR WRN
    head=dict(in_channels=512),  # AIB: = neck bottleneck_dim
)
