# AIB WRN-28-10 on CIFAR10, as the paper (K=512, dropout 0.3, SGD 0.1, 200 epochs, x0.2 at
# 60/120/160, batch 128): the ResNet-18 config beside it with the paper's CIFAR backbone.
# Self-contained MMPretrain config (a local base file, no base config from the mmpretrain package).
# Train:  python tools/train.py configs/wrn28-10_aib_8xb16_cifar10.py

_base_ = ["./resnet18_aib_8xb16_cifar10.py"]

model = dict(
    backbone=dict(
        _delete_=True,
        type="WideResNet_CIFAR",  # AIB package: WRN-d-k for 32x32
        depth=28,
        widen_factor=10,
        drop_rate=0.3,
        out_indices=(2,),
    ),
    neck=dict(
        # the paper's placement: the attention modulates the input of block 3 (its rear)
        attention_at="groups.2",
        in_channels=320,  # the input of block 3
        pooled_channels=640,  # the backbone output (block 3, BN, ReLU) the bottleneck pools
        bottleneck_dim=512,  # K = 512 as the paper's CIFAR WRN
    ),
    head=dict(in_channels=512),  # AIB: = neck bottleneck_dim
)
