# AIB quantized on cluttered MNIST 60x60: the AIB config with Q = 20 attention anchors, frozen at
# linspace(0, 1, Q) (the default; learn_anchors=True trains them with the codebook loss).
# Train: python tools/train.py configs/cluttered_mnist/resnet18_aib_qt_1xb32_cluttered-mnist.py

_base_ = ["./resnet18_aib_1xb32_cluttered-mnist.py"]

model = dict(neck=dict(num_anchors=20))  # AIB quantized: Q anchors
