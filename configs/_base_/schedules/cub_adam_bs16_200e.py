# The authors' CUB schedule: Adam 1e-4, betas (0.5, 0.999), no weight decay, the learning rate
# x0.97 every 2 epochs, 200 epochs, batch 16 (their 0.999 weight average is an EMAHook in the
# configs' custom_hooks)

# optimizer
optim_wrapper = dict(
    optimizer=dict(type="Adam", lr=1e-4, betas=(0.5, 0.999), weight_decay=0.0),
)

# learning policy
param_scheduler = dict(type="StepLR", step_size=2, gamma=0.97, by_epoch=True)

# train, val, test setting
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=16)
