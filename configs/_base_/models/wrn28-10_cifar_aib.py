# AIB WRN-28-10 for 32x32 images, as the paper's CIFAR WRN: dropout 0.3, K = 512, the attention
# at the input of block 3 (its rear: block 3, BN, ReLU, global pooling).
# The AIB parts are marked "AIB"; the loss is cross-entropy in bits (../ce_bits_head.py).

_base_ = ["../ce_bits_head.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl/loss_vq/loss_commit
    # the paper's placement: the attention modulates the input of block 3 (its rear)
    attention_at="groups.2",
    backbone=dict(
        type="WideResNet_CIFAR",  # AIB package: WRN-d-k for 32x32
        depth=28,
        widen_factor=10,
        drop_rate=0.3,
        out_indices=(2,),
    ),
    neck=dict(  # AIB: was GlobalAveragePooling
        type="IBAttention",
        in_channels=320,  # the input of block 3
        pooled_channels=640,  # the backbone output (block 3, BN, ReLU) the bottleneck pools
        bottleneck_dim=512,  # K = 512 as the paper's CIFAR WRN (its other defaults: the paper's)
    ),
    head=dict(type="LinearClsHead", num_classes=10, in_channels=512, topk=(1,)),  # AIB: = K
)
