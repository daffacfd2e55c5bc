# MMPretrain's ResNet schedule on ImageNet (imagenet_bs256.py): SGD 0.1, weight decay 1e-4,
# 100 epochs, x0.1 at 30/60/90, batch 256 (8 x 32)

# optimizer
optim_wrapper = dict(
    optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4),
)

# learning policy
param_scheduler = dict(type="MultiStepLR", by_epoch=True, milestones=[30, 60, 90], gamma=0.1)

# train, val, test setting
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=256)
