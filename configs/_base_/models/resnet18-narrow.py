# A narrow ResNet-18 for 60x60 / 64x64 gray images (the cluttered-digits demo's plain model):
# channels 16-128 (stock ResNet-18: 64-512), a 3x3 stem, no max-pool, an 8x8 last stage.
# The loss is cross-entropy in bits (../ce_bits_head.py), as in the AIB objective: the plain
# and the AIB models see one scale.

_base_ = ["../ce_bits_head.py"]

model = dict(
    type="ImageClassifier",
    backbone=dict(
        type="ResNet_CIFAR",  # 3x3 stem, no max-pool
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(2, 2, 2, 1),  # 60x60 or 64x64 input -> an 8x8 last stage
        out_indices=(3,),
    ),
    neck=dict(type="GlobalAveragePooling"),
    head=dict(type="LinearClsHead", num_classes=10, in_channels=128, topk=(1,)),
)
