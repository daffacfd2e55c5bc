# The cluttered-data schedule (the digits demo's): AdamW 2e-3, weight decay 0.01, a 50-iteration
# linear warm-up, then cosine to 1e-4 over 10 epochs, one validation at the end

optim_wrapper = dict(optimizer=dict(type="AdamW", lr=2e-3, weight_decay=0.01))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50),  # warm-up iters
    dict(type="CosineAnnealingLR", by_epoch=True, begin=0, eta_min=1e-4),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
val_cfg = dict()
test_cfg = dict()
