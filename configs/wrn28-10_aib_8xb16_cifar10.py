# AIB WRN-28-10 on CIFAR10, as the paper (K=512, dropout 0.3, the attention at the input of
# block 3, SGD 0.1, 200 epochs, x0.2 at 60/120/160, batch 128)
# Train:  python tools/train.py configs/wrn28-10_aib_8xb16_cifar10.py

_base_ = [
    "./_base_/models/wrn28-10_cifar_aib.py",
    "./_base_/datasets/cifar10_bs16.py",
    "./_base_/schedules/cifar_bs128_200e.py",
    "./_base_/default_runtime.py",
    "./_base_/aib_hooks.py",
]
