# AIB WRN-50-2 for CUB-200-2011, as the authors' CUB model: MMPretrain's wide-resnet50.py,
# ImageNet-pretrained, the attention at the input of layer4 (their rear), K = 256 (the neck's
# default, as its authors' KL, beta = 0.01 and deterministic evaluation; the authors test with
# 12 x 12 samples), decoder Linear(K, K) -> ReLU -> Linear. The AIB parts are marked "AIB".

_base_ = ["mmpretrain::_base_/models/wide-resnet50.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl/loss_vq/loss_commit
    backbone=dict(
        # ImageNet-pretrained backbone (downloaded by MMEngine when training starts)
        init_cfg=dict(
            type="Pretrained",
            checkpoint="https://download.openmmlab.com/mmclassification/v0/wrn/wide-resnet50_3rdparty_8xb32_in1k_20220304-66678344.pth",
            prefix="backbone",
        ),
    ),
    attention_at="layer4",  # AIB: the authors' placement: the input of layer4, their rear
    neck=dict(  # AIB: was GlobalAveragePooling
        _delete_=True,
        type="IBAttention",
        in_channels=1024,  # the input of layer4
        pooled_channels=2048,  # the backbone output the bottleneck pools
        relu_output=False,  # z itself: the head below is the authors' Linear-ReLU-Linear decoder
    ),
    head=dict(
        type="StackedLinearClsHead",  # AIB: the decoder Linear(K, K) -> ReLU -> Linear(K, 200)
        num_classes=200,
        in_channels=256,  # AIB: = the neck's K
        mid_channels=[256],
        topk=(1,),
        loss=dict(loss_weight=1.4426950408889634),  # AIB: cross-entropy in bits (x 1 / ln 2)
    ),
)
