"""The decoder of z, and Monte-Carlo averaging of sampled logits."""

from typing import Optional

import torch
import torch.nn as nn

from ._validate import check_positive_int


class IBDecoder(nn.Module):
    """The classifier on z: ``ReLU`` then ``Linear(K, num_classes)`` (the authors' CIFAR WRN code),
    or with ``hidden_dim`` H ``Linear(K, H)``, ``ReLU``, ``Linear(H, num_classes)`` (their
    CIFAR VGG and CUB code).

    Args:
        bottleneck_dim: K.
        num_classes: output classes; 0 gives an identity classifier (a feature extractor).
        hidden_dim: H, the width of a hidden layer before the ReLU, or None (no hidden layer).
        device: device of the parameters.
        dtype: dtype of the parameters.
    """

    def __init__(
        self,
        bottleneck_dim: int,
        num_classes: int,
        hidden_dim: Optional[int] = None,
        *,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        check_positive_int("bottleneck_dim", bottleneck_dim)
        check_positive_int("num_classes", num_classes, minimum=0)
        dd = {"device": device, "dtype": dtype}
        self.hidden_dim = hidden_dim
        if hidden_dim is None:
            self.hidden: nn.Module = nn.Identity()
            fc_in = bottleneck_dim
        else:
            check_positive_int("hidden_dim", hidden_dim)
            self.hidden = nn.Linear(bottleneck_dim, hidden_dim, **dd)
            fc_in = hidden_dim
        self.act = nn.ReLU()
        self.fc = nn.Linear(fc_in, num_classes, **dd) if num_classes > 0 else nn.Identity()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return logits (or the features before the last Linear when ``num_classes == 0``)."""
        return self.fc(self.act(self.hidden(z)))


def mc_average(values: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Average sample-major stacked values (S * B, ...) over their S samples to (B, ...).

    The paper averages logits, not probabilities; pass logits to do the same.
    """
    if values.shape[0] % batch_size != 0:
        raise ValueError(
            f"mc_average: leading dim {values.shape[0]} is not a multiple of "
            f"batch_size={batch_size}"
        )
    return values.reshape([-1, batch_size] + list(values.shape[1:])).mean(dim=0)
