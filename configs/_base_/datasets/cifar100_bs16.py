# CIFAR-100: the CIFAR-10 data settings (./cifar10_bs16.py, its normalization included) with the
# CIFAR-100 files, 100 classes and top-5 accuracy.

_base_ = ["./cifar10_bs16.py"]

dataset_type = "CIFAR100"
data_preprocessor = dict(num_classes=100)
train_dataloader = dict(dataset=dict(type=dataset_type, data_root="data/cifar100"))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root="data/cifar100"))
test_dataloader = val_dataloader
val_evaluator = dict(type="Accuracy", topk=(1, 5))
test_evaluator = val_evaluator
