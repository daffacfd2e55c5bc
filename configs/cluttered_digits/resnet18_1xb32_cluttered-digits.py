# Plain baseline on cluttered digits (the demo's reference model): a narrow ResNet-18 for 64x64
# gray digits among clutter, no AIB. The AIB configs beside it swap in the AIB model
# (_base_/models/resnet18-narrow_aib.py); runtime and the CE-in-bits loss come from
# configs/_base_/.
# Train: python tools/train.py configs/cluttered_digits/resnet18_1xb32_cluttered-digits.py

_base_ = [
    "../_base_/models/resnet18-narrow.py",
    "../_base_/datasets/cluttered-digits_bs32.py",
    "../_base_/schedules/cluttered_adamw_10e.py",
    "../_base_/short_runtime.py",
]

custom_hooks = []
