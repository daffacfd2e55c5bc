# AIB WRN-50-2 on CUB-200-2011, the authors' CUB setting (CUB-experiments of ashleylqx/AIB):
# every image cropped to the bird's box, train and test (their CUB_crop data), then resized to
# 256 x 256 and cropped to 224 (random in training, centre in test); Adam 1e-4 with betas
# (0.5, 0.999), the learning rate x0.97 every 2 epochs, batch 16, 200 epochs, a 0.999 moving
# average of the weights (evaluated), K = 256, decoder Linear(K, K) -> ReLU -> Linear.
# The attention modulates the input of layer4, as the authors place it. Not as the authors
# (docs/paper_fidelity.md): the attention head is the light one (theirs: a stride-1 copy of
# layer4 and a 3x3 conv), evaluation is deterministic (they average 12 x 12 samples), no epoch
# is picked on the test set. Box crops leave localization untested: see
# wide-resnet50_aib_1xb16_cub-loc.py.
# Train:  python tools/train.py configs/wide-resnet50_aib_1xb16_cub.py

_base_ = [
    "./_base_/models/wide-resnet50_aib.py",
    "./_base_/datasets/cub-crop_bs16.py",
    "./_base_/schedules/cub_adam_bs16_200e.py",
    "./_base_/default_runtime.py",
]

# AIB: the authors keep a 0.999 moving average of the weights and evaluate it
custom_hooks = [
    dict(type="EMAHook", momentum=0.001, priority="ABOVE_NORMAL"),
    dict(type="AttentionVisualizationHook", interval=20, num_images=8),
]
