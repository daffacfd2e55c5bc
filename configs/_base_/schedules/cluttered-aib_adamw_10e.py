# The cluttered-data schedule of the AIB recipe: ./cluttered_adamw_10e.py with the attention
# head's last BN at 3x the learning rate. That BN sets the map's level and contrast; at 3x the
# map turns sharp (near 0 off the digit) within the 10 epochs. The attention lives in the
# backbone: backbone.layer4.ib_attention.attn.head.bn (timm: <stage>.ib_attention.attn.head).

_base_ = ["./cluttered_adamw_10e.py"]

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={"ib_attention.attn.head.bn.": dict(lr_mult=3.0)})
)
