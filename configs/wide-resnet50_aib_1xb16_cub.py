# AIB WRN-50-2 on CUB-200-2011, the authors' CUB setting (CUB-experiments of ashleylqx/AIB):
# every image cropped to the bird's box, train and test (their CUB_crop data), then resized to
# 256 x 256 and cropped to 224 (random in training, centre in test); Adam 1e-4 with betas
# (0.5, 0.999), the learning rate x0.97 every 2 epochs, batch 16, 200 epochs, a 0.999 moving
# average of the weights (evaluated), K = 256, decoder Linear(K, K) -> ReLU -> Linear.
# Not as the authors (docs/paper_fidelity.md): the attention reads the backbone's output (the
# neck; they place it before layer4 with a stride-1 copy of layer4 as its head), its head is
# the light one, evaluation is deterministic (they average 12 x 12 samples), no epoch is picked
# on the test set. Box crops leave localization untested: wide-resnet50_aib_1xb16_cub-loc.py.
# Self-contained MMPretrain config: no base configs to inherit.
# Train:  python tools/train.py configs/wide-resnet50_aib_1xb16_cub.py
# The AIB parts are marked "AIB"; everything else is a stock MMPretrain config.

# AIB: registers IBAttention, IBImageClassifier, IBTimmClassifier, the IB hooks, WideResNet_CIFAR
custom_imports = dict(imports=["aib_plugin.mmpretrain"], allow_failed_imports=False)

# model settings
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
    neck=dict(  # AIB: was GlobalAveragePooling
        type="IBAttention",
        in_channels=2048,
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
        # AIB: cross-entropy in bits (1 / ln 2), as the paper's objective
        loss=dict(type="CrossEntropyLoss", loss_weight=1.4426950408889634),
        topk=(1,),
    ),
)

# dataset settings
dataset_type = "CUBWithBoxes"  # AIB: CUB with the bird's box in gt_bbox, for CropToBox
data_preprocessor = dict(
    num_classes=200,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # convert image from BGR to RGB
    to_rgb=True,
)

train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="CropToBox"),  # AIB: the authors' CUB_crop data
    dict(type="Resize", scale=(256, 256)),
    dict(type="RandomCrop", crop_size=224),
    dict(type="RandomFlip", prob=0.5, direction="horizontal"),
    dict(type="PackInputs"),
]

test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="CropToBox"),  # AIB: the authors' CUB_crop data
    dict(type="Resize", scale=(256, 256)),
    dict(type="CenterCrop", crop_size=224),
    dict(type="PackInputs"),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    dataset=dict(
        type=dataset_type, data_root="data/CUB_200_2011", split="train", pipeline=train_pipeline
    ),
    sampler=dict(type="DefaultSampler", shuffle=True),
)

val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    dataset=dict(
        type=dataset_type, data_root="data/CUB_200_2011", split="test", pipeline=test_pipeline
    ),
    sampler=dict(type="DefaultSampler", shuffle=False),
)
val_evaluator = dict(type="Accuracy", topk=(1,))

test_dataloader = val_dataloader
test_evaluator = val_evaluator

# optimizer (the authors': Adam 1e-4, betas (0.5, 0.999), no weight decay)
optim_wrapper = dict(
    optimizer=dict(type="Adam", lr=1e-4, betas=(0.5, 0.999), weight_decay=0.0),
)

# learning policy (the authors': x0.97 every 2 epochs)
param_scheduler = dict(type="StepLR", step_size=2, gamma=0.97, by_epoch=True)

# train, val, test setting
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=16)

# defaults to use registries in mmpretrain
default_scope = "mmpretrain"

# configure default hooks
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=100),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="VisualizationHook", enable=False),
)

# AIB: IB statistics in the log and attention overlays of 8 fixed validation images
custom_hooks = [
    # the authors keep a 0.999 moving average of the weights and evaluate it
    dict(type="EMAHook", momentum=0.001, priority="ABOVE_NORMAL"),
    dict(type="IBStatsHook", interval=100),
    dict(type="AttentionVisualizationHook", interval=20, num_images=8),
    # optional beta warm-up with mmpretrain's own hook (not in the paper):
    # dict(type='WarmupParamHook', module_name='neck.objective', param_name='beta',
    #      warmup_epochs=5),
]

# configure environment
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present
    dist_cfg=dict(backend="nccl"),
)

# set visualizer (add dict(type='TensorboardVisBackend') to get the overlays in TensorBoard)
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="UniversalVisualizer", vis_backends=vis_backends)

log_level = "INFO"
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
