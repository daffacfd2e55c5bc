# AIB ResNet-18 on CIFAR100: the paper's CIFAR schedule (SGD 0.1, 200 epochs, x0.2 at 60/120/160,
# batch 128): the CIFAR10 config beside it with CIFAR100 data and 100 classes.
# Self-contained MMPretrain config (a local base file, no base config from the mmpretrain package).
# Train:  python tools/train.py configs/resnet18_aib_8xb16_cifar100.py

_base_ = ["./resnet18_aib_8xb16_cifar10.py"]

model = dict(head=dict(num_classes=100, topk=(1, 5)))
data_preprocessor = dict(num_classes=100)
train_dataloader = dict(dataset=dict(type="CIFAR100", data_root="data/cifar100"))
val_dataloader = dict(dataset=dict(type="CIFAR100", data_root="data/cifar100"))
test_dataloader = val_dataloader
val_evaluator = dict(type="Accuracy", topk=(1, 5))
test_evaluator = val_evaluator
