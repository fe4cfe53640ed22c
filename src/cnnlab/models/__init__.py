"""Model zoo: `create_model(name, in_shape, num_classes)` builds any registered model."""

from cnnlab.models.registry import create_model, list_models, model_entry, register_model

# Importing the model modules registers them.
from cnnlab.models import basic  # noqa: F401,E402

__all__ = ["create_model", "list_models", "model_entry", "register_model"]
