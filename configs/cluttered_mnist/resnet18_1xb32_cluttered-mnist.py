# Plain baseline on cluttered MNIST 60x60 with 4 distractors (DeepMind's mnist-cluttered, the task
# of RAM and the spatial transformer): the narrow ResNet-18 of the cluttered-digits demo, the same
# schedule, real MNIST digits (_base_/datasets/cluttered-mnist_bs32.py: no download). The AIB
# configs beside it swap in the AIB model; runtime and the CE-in-bits loss come from
# configs/_base_/.
# Train: python tools/train.py configs/cluttered_mnist/resnet18_1xb32_cluttered-mnist.py
#
# Published test errors on this 60x60 / 4-distractor task (aib_plugin.datasets.cluttered_mnist.
# PUBLISHED_TEST_ERRORS), full 50,000 training images:
#   conv net, 2 layers 8.09%, RAM 8 glimpses 4.04% (Mnih et al., NIPS 2014);
#   CNN 3.5%, ST-CNN 1.7% (Jaderberg et al., NIPS 2015).
# (DRAW's 3.36% is on the 100x100 / 8-distractor variant.) tools/benchmark.py quality prints them
# beside its own table.

_base_ = [
    "../_base_/models/resnet18-narrow.py",
    "../_base_/datasets/cluttered-mnist_bs32.py",
    "../_base_/schedules/cluttered_adamw_10e.py",
    "../_base_/short_runtime.py",
]

custom_hooks = []
