# The paper's CIFAR schedule: SGD 0.1, weight decay 5e-4, 200 epochs, x0.2 at 60/120/160,
# batch 128 (8 x 16)

# optimizer
optim_wrapper = dict(
    optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=5e-4),
)

# learning policy
param_scheduler = dict(type="MultiStepLR", by_epoch=True, milestones=[60, 120, 160], gamma=0.2)

# train, val, test setting
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=128)
