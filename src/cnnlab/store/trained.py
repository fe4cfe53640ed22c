"""A finished run's trained model, rebuilt from its directory: `load_model(run_dir)`.

config.json names the model and its arguments; checkpoint.pt holds the weights of the last
epoch and the input shape and class count the model was built for. The checkpoint is read
with `weights_only=True` (`cnnlab.io.load_checkpoint`): data, never code.
"""

from cnnlab.errors import UserError, first_line
from cnnlab.store.schema import CHECKPOINT_FILE
from cnnlab.store.rundir import RunDir


def load_model(run_dir, device="cpu"):
    """The model of a finished run with its trained weights, on `device`, in eval mode.
    Raises UserError for a directory that is not a finished run or whose files are damaged."""
    from cnnlab.io import load_checkpoint
    from cnnlab.models import create_model

    run = RunDir(run_dir)
    record = run.load()
    if record.status == "missing":
        raise UserError(f"{run.path}: no run directory")
    if record.config is None:
        raise UserError(f"{run.path}: not a readable cnnlab run ({record.problems[0] if record.problems else '?'})")
    if record.status != "done":
        state = "still running or interrupted" if record.status == "running" else record.status
        raise UserError(f"{run.path}: the run is {state}, not done; it has no trained model to load")
    try:
        checkpoint = load_checkpoint(run.path / CHECKPOINT_FILE, map_location=device)
        weights = checkpoint["model"]
    except Exception as e:  # missing, damaged or not a checkpoint
        raise UserError(f"{run.path / CHECKPOINT_FILE}: cannot be read ({type(e).__name__}: {first_line(e)})") from None
    in_shape, num_classes = _built_for(checkpoint, record.analysis)
    if in_shape is None or num_classes is None:
        raise UserError(f"{run.path}: its records do not say the input shape and class count the model was built "
                        "for (a run of an older cnnlab); run it again")
    from cnnlab.models.user_code import ensure_model

    ensure_model(record.config.model, record.config.model_source)  # a user's model: its code, loaded
    model = create_model(record.config.model, in_shape=in_shape, num_classes=num_classes,
                         **record.config.model_kwargs)
    try:
        model.load_state_dict(weights)
    except (RuntimeError, KeyError, TypeError) as e:
        raise UserError(f"{run.path / CHECKPOINT_FILE}: its weights do not fit {record.config.model} "
                        f"({first_line(e)})") from None
    return model.to(device).eval()


def _built_for(checkpoint: dict, analysis: dict) -> tuple[list | None, int | None]:
    """(in_shape, num_classes) from the checkpoint; older checkpoints lack them, where the
    receptive-field and confusion analyses may still say."""
    data = checkpoint.get("data") if isinstance(checkpoint.get("data"), dict) else {}
    in_shape, num_classes = data.get("in_shape"), data.get("num_classes")
    if in_shape is None and isinstance(analysis.get("receptive_field"), dict):
        in_shape = analysis["receptive_field"].get("in_shape")
    if num_classes is None and isinstance(analysis.get("confusion"), dict):
        classes = analysis["confusion"].get("classes")
        num_classes = len(classes) if isinstance(classes, list) else None
    return in_shape, num_classes
