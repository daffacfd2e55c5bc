# Plain timm ResNet-18 (narrow, output stride 8) on cluttered digits, through MMPretrain's
# TimmClassifier: the reference for the timm AIB model beside it (the paper's placement).
# Train: python tools/train.py configs/cluttered_digits/timm-resnet18_1xb32_cluttered-digits.py

# a local base file (no base config from the mmpretrain package)
_base_ = ["./resnet18_1xb32_cluttered-digits.py"]

model = dict(
    _delete_=True,
    type="TimmClassifier",
    model_name="resnet18",
    num_classes=10,
    channels=(16, 32, 64, 128),  # narrow, as the MMPretrain demo backbone
    output_stride=8,  # 64x64 input -> an 8x8 last stage
    loss=dict(type="CrossEntropyLoss", loss_weight=1.4426950408889634),  # CE in bits
)
