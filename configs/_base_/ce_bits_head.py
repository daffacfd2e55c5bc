# The classification loss in bits, the unit of the IB terms (the paper's objective): cross-entropy
# times 1 / ln 2 (aib_plugin.layers.BITS_PER_NAT), on the head of an (IB)ImageClassifier.
# IBTimmClassifier needs no fragment: its default loss is already in bits.

model = dict(head=dict(loss=dict(type="CrossEntropyLoss", loss_weight=1.4426950408889634)))
