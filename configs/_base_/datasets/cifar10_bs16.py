# CIFAR-10: MMPretrain's cifar10_bs16.py with train crops padded by reflection and test batches
# of 100.

_base_ = ["mmpretrain::_base_/datasets/cifar10_bs16.py"]

train_pipeline = [
    dict(type="RandomCrop", crop_size=32, padding=4, padding_mode="reflect"),
    dict(type="RandomFlip", prob=0.5, direction="horizontal"),
    dict(type="PackInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=100)
test_dataloader = val_dataloader
