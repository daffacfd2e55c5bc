# AIB on cluttered digits (the demo's model): the plain baseline (resnet18_1xb32_cluttered-
# digits.py) with the AIB recipe: the model and hooks of _base_/models/resnet18-narrow_aib.py,
# whose settings not from the paper are marked there, and the attention BN's faster learning
# rate (_base_/schedules/cluttered-aib_adamw_10e.py). The paper's own objective:
# projects/aib_studies/configs/cluttered_digits/resnet18_aib-paper_1xb32_cluttered-digits.py.
# Train: python tools/train.py configs/cluttered_digits/resnet18_aib_1xb32_cluttered-digits.py

_base_ = [
    "../_base_/models/resnet18-narrow_aib.py",
    "../_base_/datasets/cluttered-digits_bs32.py",
    "../_base_/schedules/cluttered-aib_adamw_10e.py",
    "../_base_/short_runtime.py",
]

# AIB: accuracy and how well the attention map points at the digit's box
val_evaluator = [dict(type="Accuracy", topk=(1,)), dict(type="LocalizationMetric")]
test_evaluator = val_evaluator
