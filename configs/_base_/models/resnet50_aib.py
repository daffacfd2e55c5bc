# AIB ResNet-50 for ImageNet (MMPretrain's resnet50.py with the IB attention neck).
# The AIB parts are marked "AIB"; the loss is cross-entropy in bits (../ce_bits_head.py).

_base_ = ["../ce_bits_head.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl/loss_vq/loss_commit
    backbone=dict(
        type="ResNet",
        depth=50,
        num_stages=4,
        out_indices=(3,),
        style="pytorch",
    ),
    neck=dict(  # AIB: was GlobalAveragePooling
        type="IBAttention",
        in_channels=2048,
        bottleneck_dim=256,  # K
        kl="paper",  # the authors' KL; 'vib' = textbook (re-tune beta)
        beta=0.01,
        mc_samples=1,  # deterministic evaluation; the paper tests with 4 (4 x 4 samples)
    ),
    head=dict(
        type="LinearClsHead",
        num_classes=1000,
        in_channels=256,  # AIB: = neck bottleneck_dim
        topk=(1, 5),
    ),
)
