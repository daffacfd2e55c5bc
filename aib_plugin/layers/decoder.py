"""The decoder of z, and Monte-Carlo averaging of sampled logits."""

from typing import Optional

import torch
import torch.nn as nn

from ._validate import check_positive_int


class IBDecoder(nn.Module):
    """``ReLU`` then ``Linear(K, num_classes)``: the classifier on z.

    Args:
        bottleneck_dim: K.
        num_classes: output classes; 0 gives an identity classifier (a feature extractor).
        device: device of the parameters.
        dtype: dtype of the parameters.
    """

    def __init__(
        self,
        bottleneck_dim: int,
        num_classes: int,
        *,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        check_positive_int("bottleneck_dim", bottleneck_dim)
        check_positive_int("num_classes", num_classes, minimum=0)
        self.act = nn.ReLU()
        self.fc = (
            nn.Linear(bottleneck_dim, num_classes, device=device, dtype=dtype)
            if num_classes > 0
            else nn.Identity()
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return logits (or ``relu(z)`` when ``num_classes == 0``)."""
        return self.fc(self.act(z))


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
