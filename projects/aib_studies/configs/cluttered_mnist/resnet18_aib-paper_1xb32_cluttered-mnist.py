# The paper's objective on cluttered MNIST 60x60: the AIB config without this package's additions
# (no area price, so no warm-up; one learning rate for everything; the light head's last conv
# 3x3), as ../cluttered_digits/resnet18_aib-paper_1xb32_cluttered-digits.py.
# Train: python tools/train.py \
#   projects/aib_studies/configs/cluttered_mnist/resnet18_aib-paper_1xb32_cluttered-mnist.py

_base_ = ["../../../../configs/cluttered_mnist/resnet18_aib_1xb32_cluttered-mnist.py"]

model = dict(neck=dict(area_weight=0.0, head_kernel_size=3))  # no area price; a 3x3 last conv
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
custom_hooks = [
    dict(type="AttentionVisualizationHook", interval=4, num_images=4),
]
