"""A timm training task (``timm.task``) that trains an AIB model's full objective.

``AIBClassificationTask(model, criterion)`` is timm's ``ClassificationTask`` plus
``model.ib_loss().total()`` in ``result['loss']``; the result dict also carries the task loss,
the weighted IB total and the unweighted IB terms, for logging.
"""

from collections.abc import Callable
from typing import Any, Optional, Union

import torch
import torch.nn as nn
from timm.task import ClassificationTask
from timm.utils.model import unwrap_model

from .model import AIBNet


def _aib_model(model: nn.Module) -> AIBNet:
    """The :class:`AIBNet` inside ``model`` (DDP, ``torch.compile``, EMA wrappers removed)."""
    inner = unwrap_model(model)
    if not isinstance(inner, AIBNet):
        raise TypeError(
            "AIBClassificationTask needs an AIB model (timm.create_model('<arch>_aib...'), an "
            f"AIBNet), got {type(inner).__name__}: it has no IB terms to add. Use timm's "
            "ClassificationTask for other models."
        )
    return inner


class AIBClassificationTask(ClassificationTask):
    """timm's ``ClassificationTask`` with the IB terms added to the loss.

    ``result = task(input, target)`` returns:

    - ``loss``: ``criterion(output, target) + model.ib_loss().total()``, to backpropagate;
    - ``output``: the model output (logits);
    - ``task_loss``: the criterion's loss, detached;
    - ``ib_loss``: the weighted IB total, detached;
    - ``ib_kl_bits`` (and ``ib_vq``, ``ib_commit``, ``ib_area`` when present): the unweighted
      terms (:meth:`IBLossTerms.unweighted`), detached tensors (no host sync per step; call
      ``float()`` to log them).

    Args:
        model: an :class:`AIBNet` (``ib_loss_in_backward`` off: this task adds the terms itself).
        criterion, criterion_kwargs, device, dtype, verbose: as timm's ``ClassificationTask``.

    Raises:
        TypeError: if ``model`` is not an AIB model.
        ValueError: if it has ``ib_loss_in_backward=True`` (the terms would count twice).
    """

    def __init__(
        self,
        model: nn.Module,
        criterion: Optional[Union[nn.Module, Callable]] = None,
        criterion_kwargs: Optional[dict[str, Any]] = None,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
        verbose: bool = True,
    ) -> None:
        if _aib_model(model).ib_loss_in_backward:
            raise ValueError(
                "AIBClassificationTask adds model.ib_loss().total() to the loss, and this model "
                "has ib_loss_in_backward=True, which adds the IB terms in backward as well: they "
                "would count twice. Build the model with ib_loss_in_backward=False for this "
                "task, or use timm's plain ClassificationTask with ib_loss_in_backward=True."
            )
        super().__init__(
            model,
            criterion=criterion,
            criterion_kwargs=criterion_kwargs,
            device=device,
            dtype=dtype,
            verbose=verbose,
        )

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Forward, the criterion's loss plus the IB terms, and the terms for logging."""
        output = self.trainable_module(input)
        task_loss = self.criterion(output, target)
        terms = _aib_model(self.trainable_module).ib_loss()
        ib_total = terms.total()
        result = {
            "loss": task_loss + ib_total,
            "output": output,
            "task_loss": task_loss.detach(),
            "ib_loss": ib_total.detach(),
        }
        result.update({f"ib_{name}": value for name, value in terms.unweighted().items()})
        return result
