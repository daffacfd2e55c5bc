"""aib_plugin: Attentive Information Bottleneck spatial attention for timm and MMPretrain.

``import aib_plugin`` needs only torch and timm: it registers the ``*_aib`` models into timm.
The MMPretrain adapter is ``aib_plugin.mmpretrain`` (import it, or name it in a config's
``custom_imports``); ``import aib_plugin`` loads it too when MMPretrain is already imported (as in
MMPretrain's own tools), so a config that imports only ``aib_plugin`` gets its checks as well.
"""

import sys

__version__ = "0.1.0"

# registers the *_aib models into timm
from .timm_models import create_aib_model, register_aib_model  # noqa: E402

if "mmpretrain" in sys.modules:
    from . import mmpretrain  # noqa: E402, F401  (registers the MMPretrain adapter)

__all__ = ["create_aib_model", "register_aib_model"]
