# AIB ResNet-18 on CIFAR100: the paper's CIFAR schedule (SGD 0.1, 200 epochs, x0.2 at 60/120/160,
# batch 128): the CIFAR10 config with CIFAR100 data and 100 classes.
# Train:  python tools/train.py configs/resnet18_aib_8xb16_cifar100.py

_base_ = [
    "./_base_/models/resnet18_cifar_aib.py",
    "./_base_/datasets/cifar100_bs16.py",
    "./_base_/schedules/cifar_bs128_200e.py",
    "./_base_/default_runtime.py",
    "./_base_/aib_hooks.py",
]

model = dict(head=dict(num_classes=100, topk=(1, 5)))
