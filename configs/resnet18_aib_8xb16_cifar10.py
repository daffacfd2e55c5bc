# AIB ResNet-18 on CIFAR10: the paper's CIFAR schedule (SGD 0.1, 200 epochs, x0.2 at 60/120/160,
# batch 128)
# MMPretrain's resnet18_8xb16_cifar10.py with the AIB model (_base_/models/resnet18_cifar_aib.py,
# the AIB parts marked "AIB"), the paper's schedule, the AIB hooks.
# Train:  python tools/train.py configs/resnet18_aib_8xb16_cifar10.py

_base_ = [
    "./_base_/models/resnet18_cifar_aib.py",
    "./_base_/datasets/cifar10_bs16.py",
    "./_base_/schedules/cifar_bs128_200e.py",
    "./_base_/default_runtime.py",
    "./_base_/aib_hooks.py",
]
