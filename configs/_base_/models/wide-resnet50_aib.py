# AIB WRN-50-2 for CUB-200-2011, as the authors' CUB model: ImageNet-pretrained backbone, the
# attention at the input of layer4 (their rear), K = 256, decoder Linear(K, K) -> ReLU -> Linear.
# The AIB parts are marked "AIB"; the loss is cross-entropy in bits (../ce_bits_head.py).

_base_ = ["../ce_bits_head.py"]

model = dict(
    type="IBImageClassifier",  # AIB: was 'ImageClassifier'; adds loss_kl/loss_vq/loss_commit
    backbone=dict(
        type="ResNet",
        depth=50,
        num_stages=4,
        out_indices=(3,),
        stem_channels=64,
        base_channels=128,
        expansion=2,
        style="pytorch",
        # ImageNet-pretrained backbone (downloaded by MMEngine when training starts)
        init_cfg=dict(
            type="Pretrained",
            checkpoint="https://download.openmmlab.com/mmclassification/v0/wrn/wide-resnet50_3rdparty_8xb32_in1k_20220304-66678344.pth",
            prefix="backbone",
        ),
    ),
    attention_at="layer4",  # AIB: the authors' placement: the input of layer4, their rear
    neck=dict(  # AIB: was GlobalAveragePooling
        type="IBAttention",
        in_channels=1024,  # the input of layer4
        pooled_channels=2048,  # the backbone output the bottleneck pools
        bottleneck_dim=256,  # K
        kl="paper",  # the authors' KL; 'vib' = textbook (re-tune beta)
        beta=0.01,
        mc_samples=1,  # deterministic evaluation; the authors test with 12 x 12 samples
        relu_output=False,  # z itself: the head below is the authors' Linear-ReLU-Linear decoder
    ),
    head=dict(
        type="StackedLinearClsHead",  # AIB: the decoder Linear(K, K) -> ReLU -> Linear(K, 200)
        num_classes=200,
        in_channels=256,  # AIB: = neck bottleneck_dim
        mid_channels=[256],
        topk=(1,),
    ),
)
