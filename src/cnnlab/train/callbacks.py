"""What the trainer calls while it runs. Subclass and override what you need."""


class Callback:
    def on_train_start(self, model, config):
        """Once, before the first step (also on resume)."""

    def after_backward(self, model, step: int):
        """After loss.backward(), before the optimizer step: gradients are populated.
        `step` counts optimizer steps from 0 over the whole run."""

    def on_epoch_end(self, model, epoch: int, metrics: dict):
        """After evaluation; `metrics` is the epoch's row of the history."""

    def state_dict(self) -> dict:
        """Saved in each checkpoint so a resumed run ends with the same state."""
        return {}

    def load_state_dict(self, state: dict):
        pass
