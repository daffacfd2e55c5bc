# Template: any plain timm model on cluttered MNIST 60x60 through MMPretrain's TimmClassifier,
# with the data and schedule of resnet18_1xb32_cluttered-mnist.py. model_name and the model's
# own keywords (width, output_stride, img_size...) are overridden per backbone, e.g.
#   python tools/train.py configs/cluttered_mnist/timm-resnet18_1xb32_cluttered-mnist.py \
#       --cfg-options model.model_name=regnety_002 model.output_stride=8
# SE / CBAM ResNets: model.block_args="dict(attn_layer='se')" (or 'cbam') on a timm ResNet.
# tools/benchmark.py quality sets them for each backbone family (and labels each reduction).

_base_ = ["./resnet18_1xb32_cluttered-mnist.py"]

model = dict(
    _delete_=True,
    type="TimmClassifier",
    model_name="resnet18",  # overridden per backbone
    num_classes=10,
    loss=dict(type="CrossEntropyLoss", loss_weight=1.4426950408889634),  # CE in bits
)
