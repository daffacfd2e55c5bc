# AIB ResNet-50 for ImageNet: MMPretrain's resnet50.py with the IB attention neck.
# The neck's defaults are the paper's (K = 256, the authors' KL, beta = 0.01, deterministic
# evaluation). The AIB parts are marked "AIB".

_base_ = ["mmpretrain::_base_/models/resnet50.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl/loss_vq/loss_commit
    neck=dict(_delete_=True, type="IBAttention", in_channels=2048),  # AIB: was GlobalAveragePooling
    # AIB: in_channels = the neck's K; cross-entropy in bits (x 1 / ln 2), the IB terms' unit
    head=dict(in_channels=256, loss=dict(loss_weight=1.4426950408889634)),
)
