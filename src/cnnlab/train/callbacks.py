"""What the trainer calls while it runs. Subclass and override what you need."""


class Callback:
    def on_train_start(self, model, config):
        """Once, before the first step (also on resume)."""

    def after_backward(self, model, step: int):
        """After loss.backward(), before the optimizer step: gradients are populated.
        `step` counts optimizer steps from 0 over the whole run."""

    def wants_backward(self, step: int) -> bool:
        """Whether `after_backward` must run at `step`. Steps nobody needs run inside a CUDA
        graph on a GPU, where no Python runs between backward and the optimizer step; a
        callback that overrides after_backward is called at every step unless it narrows this."""
        return type(self).after_backward is not Callback.after_backward

    def on_epoch_end(self, model, epoch: int, metrics: dict):
        """After evaluation; `metrics` is the epoch's row of the history."""

    def state_dict(self) -> dict:
        """Saved in each checkpoint so a resumed run ends with the same state."""
        return {}

    def load_state_dict(self, state: dict):
        pass
