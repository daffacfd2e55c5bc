# AIB ResNet-18 for 32x32 images: MMPretrain's resnet18_cifar.py with the IB attention neck.
# The neck's defaults are the paper's (K = 256, the authors' KL, beta = 0.01, deterministic
# evaluation; the paper tests with 4 x 4 samples: mc_samples=4). The AIB parts are marked "AIB".

_base_ = ["mmpretrain::_base_/models/resnet18_cifar.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl/loss_vq/loss_commit
    neck=dict(_delete_=True, type="IBAttention", in_channels=512),  # AIB: was GlobalAveragePooling
    # AIB: in_channels = the neck's K; cross-entropy in bits (x 1 / ln 2), the IB terms' unit
    head=dict(in_channels=256, topk=(1,), loss=dict(loss_weight=1.4426950408889634)),
)
