# AIB ResNet-18 from timm ('resnet18_aib') on ImageNet-1k through MMPretrain's TimmClassifier
# (IBTimmClassifier), with MMPretrain's ResNet schedule (SGD 0.1, 100 epochs, batch 256): the
# ResNet-50 ImageNet config beside it with the model swapped for the timm one.
# Train:  python tools/train.py configs/timm-resnet18_aib_8xb32_in1k.py

_base_ = [
    "mmpretrain::_base_/datasets/imagenet_bs32.py",
    "mmpretrain::_base_/schedules/imagenet_bs256.py",
    "./_base_/default_runtime.py",
]

model = dict(
    # AIB: MMPretrain's TimmClassifier for timm '*_aib' models; adds loss_kl/loss_vq/loss_commit
    type="IBTimmClassifier",
    model_name="resnet18_aib",  # any timm.list_models('*_aib') (registered by aib_plugin)
    pretrained=False,
    num_classes=1000,
    # the IB options' defaults are the paper's: K = 256, the authors' KL, beta = 0.01, and
    # deterministic evaluation (the paper tests with 4 x 4 samples: mc_samples=4)
    # AIB: IBTimmClassifier measures cross-entropy in bits by default, as the paper's objective
)
# optional beta warm-up (not in the paper): here the IB objective sits on the timm model, so
# dict(type='WarmupParamHook', module_name='model.objective', param_name='beta', warmup_epochs=5)
custom_hooks = [
    dict(type="AttentionVisualizationHook", interval=5, num_images=8),
]
