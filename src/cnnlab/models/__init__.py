"""Model zoo: `create_model(name, in_shape, num_classes)` builds any registered model.

Layers live in `cnnlab.models.layers`, residual blocks in `cnnlab.models.blocks`, the two
architecture builders in `convnet.py` (plain conv stacks) and `resnet.py` (residual nets).
The model files are grouped by study and register every name explicitly when imported.
Every model is a `Net` with `features` and `head`.
"""

from cnnlab.models.common import Net, count_params, eval_mode
from cnnlab.models.match_params import match_params
from cnnlab.models.registry import (check_model, create_model, list_models, model_entry, register_model,
                                    unregister_model)

# Importing the model modules registers them.
from cnnlab.models import basic, custom_layers, depth, kernel_size, residual, residual_blocks  # noqa: F401,E402
from cnnlab.models import blocks, layers  # noqa: F401,E402

__all__ = [
    "Net",
    "blocks",
    "check_model",
    "count_params",
    "create_model",
    "eval_mode",
    "layers",
    "list_models",
    "match_params",
    "model_entry",
    "register_model",
    "unregister_model",
]
