"""Model zoo: `create_model(name, in_shape, num_classes)` builds any registered model.

Layers live in `cnnlab.models.layers`, residual blocks in `cnnlab.models.blocks`; the model
files are grouped by study and register themselves when imported below.
"""

from cnnlab.models.match_params import count_params, match_params
from cnnlab.models.registry import create_model, list_models, model_entry, register_model

# Importing the model modules registers them.
from cnnlab.models import basic, custom_layers, depth, kernel_size, residual, resnets  # noqa: F401,E402
from cnnlab.models import blocks, layers  # noqa: F401,E402

__all__ = [
    "blocks",
    "count_params",
    "create_model",
    "layers",
    "list_models",
    "match_params",
    "model_entry",
    "register_model",
]
