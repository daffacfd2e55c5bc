# AIB ResNet-50 on ImageNet-1k, MMPretrain's ResNet-50 schedule (SGD 0.1, 100 epochs, x0.1 at
# 30/60/90, batch 256)
# MMPretrain's resnet50_8xb32_in1k.py with the AIB model (_base_/models/resnet50_aib.py, the AIB
# parts marked "AIB") and attention overlays every 5 epochs.
# Train:  python tools/train.py configs/resnet50_aib_8xb32_in1k.py

_base_ = [
    "./_base_/models/resnet50_aib.py",
    "mmpretrain::_base_/datasets/imagenet_bs32.py",
    "mmpretrain::_base_/schedules/imagenet_bs256.py",
    "./_base_/default_runtime.py",
]

custom_hooks = [
    dict(type="AttentionVisualizationHook", interval=5, num_images=8),
]
