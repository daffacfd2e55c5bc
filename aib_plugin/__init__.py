"""aib_plugin: Attentive Information Bottleneck spatial attention for timm and MMPretrain.

``import aib_plugin`` needs only torch and timm: it registers the ``*_aib`` models into timm.
The MMPretrain adapter is ``aib_plugin.mmpretrain`` (import it, or name it in a config's
``custom_imports``).
"""

__version__ = "0.1.0"

# registers the *_aib models into timm
from .timm_models import create_aib_model, register_aib_model  # noqa: E402

__all__ = ["create_aib_model", "register_aib_model"]
