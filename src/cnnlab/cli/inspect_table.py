"""`cnnlab inspect`: one row per layer with its output shape, parameters, MACs and receptive field."""

import torch.nn as nn

from cnnlab.models.cost import count_flops, module_flop_calls, param_counts
from cnnlab.analyses.receptive_field.measure import trace_fields
from cnnlab.units import si_number


def inspect_rows(model: nn.Module, in_shape) -> list[dict]:
    """One row per leaf-module call, in execution order:
    {"name", "type", "out_shape" (no batch dim), "params", "macs" (batch of one),
     "rf" and "jump" (per spatial axis; jump None once positions are mixed; both None if
     the layer does not depend on the input)}.
    A module called twice gets two rows; its parameters are counted on the first only."""
    fields, _ = trace_fields(model, in_shape)
    flops = [c for c in module_flop_calls(model, in_shape) if c["leaf"]]
    if [r["name"] for r in fields] != [c["name"] for c in flops]:
        raise RuntimeError("the model ran different layers in two forward passes; cannot line them up")
    modules = dict(model.named_modules())
    rows, counted = [], set()
    for row, call in zip(fields, flops):
        params = 0
        if row["name"] not in counted:
            counted.add(row["name"])
            params = sum(p.numel() for p in modules[row["name"]].parameters())
        f = row["field"]
        rows.append({"name": row["name"] or "(model)", "type": row["type"], "out_shape": row["out_shape"],
                     "params": params, "macs": call["flops"] // 2,
                     "rf": list(f.size) if f else None,
                     "jump": list(f.jump) if f and f.jump is not None else None})
    return rows


def inspect_model(model: nn.Module, in_shape) -> dict:
    """What `cnnlab inspect --json` prints: the rows plus totals. The totals cover the whole
    model, including parameters and MACs of container modules' own code (not in any row)."""
    rows = inspect_rows(model, in_shape)
    params = param_counts(model)
    return {"in_shape": [int(s) for s in in_shape], "rows": rows, "total_params": params["total"],
            "trainable_params": params["trainable"], "total_macs": count_flops(model, in_shape)["macs"]}


def _axes(values) -> str:
    if values is None:
        return "-"
    values = [f"{v:g}" for v in values]
    return values[0] if len(set(values)) == 1 else "x".join(values)


def format_inspect_table(rows: list[dict], total_params: int | None = None, total_macs: int | None = None) -> str:
    """A plain-text table of `inspect_rows` output with a totals line. Pass the whole model's
    totals (as `inspect_model` gives them) to count what container modules hold or compute."""
    row_params, row_macs = sum(r["params"] for r in rows), sum(r["macs"] for r in rows)
    total_params = row_params if total_params is None else total_params
    total_macs = row_macs if total_macs is None else total_macs
    header = ("layer", "type", "output", "params", "MACs", "RF", "jump")
    lines = [(r["name"], r["type"], "x".join(str(s) for s in r["out_shape"]), f"{r['params']:,}",
              si_number(r["macs"]), _axes(r["rf"]), _axes(r["jump"])) for r in rows]
    total = ("total", "", "", f"{total_params:,}", si_number(total_macs), "", "")
    from cnnlab.console import text_table

    table = text_table(list(header), [*lines, total], right={3, 4, 5, 6}, rule=True)
    out = [*table[:-1], table[1], table[-1]]  # the total under a second rule
    if any(r["jump"] is None and r["rf"] is not None for r in rows):
        out.append("jump '-': after flatten or global pooling units have no position and each one sees the whole "
                   "input; the RF column there repeats the last spatial layer's receptive field.")
    if total_params != row_params:
        out.append(f"{total_params - row_params:,} parameters belong to container modules, not to a row.")
    if total_macs != row_macs:
        out.append(f"{si_number(total_macs - row_macs)} MACs run in container modules' own code, not in a row.")
    out.append("MACs for one image; RF and jump in input pixels.")
    return "\n".join(out)


BUSY = 2.0  # a block whose slowest quarter of passes took over twice its fastest: the machine was busy


def format_block_times(timed: dict | None, rows: list[dict]) -> str:
    """`cnnlab inspect --time`: each top-level block's forward and backward milliseconds (median and
    quartiles), beside its parameters and MACs (its layers' rows added up)."""
    from cnnlab.console import text_table

    if timed is None:
        return "time per block: not measured (this network is not a chain of features and head blocks)"
    body, busy = [], []
    for b in timed["blocks"]:
        macs = sum(r["macs"] for r in rows if r["name"] == b["block"] or r["name"].startswith(b["block"] + "."))
        cells = []
        for part in ("forward", "backward"):
            t = b[part]
            cells.append(f"{t['median_ms']:.3f} ({t['q1_ms']:.3f}-{t['q3_ms']:.3f})")
            if t["q3_ms"] > BUSY * t["q1_ms"] and t["q3_ms"] - t["q1_ms"] > 0.1:
                busy.append(b["block"])
        body.append([b["block"], b["type"], f"{b['params']:,}", si_number(macs), *cells])
    lines = text_table(["block", "type", "params", "MACs", "forward ms (q1-q3)", "backward ms (q1-q3)"], body,
                       right={2, 3, 4, 5}, rule=True)
    lines.append(f"Each block alone in training mode on the output of the blocks before it: {timed['warmup']} "
                 f"warm-up and {timed['repeats']} timed passes on a batch of {timed['batch_size']}, "
                 f"{timed['device_name']}, {timed['threads']} thread(s), {timed['precision']}; median (quartiles).")
    if busy:
        lines.append(f"Busy machine: the passes of {', '.join(dict.fromkeys(busy))} spread over more than "
                     f"{BUSY:g}x; time again on an idle machine.")
    return "\n".join(lines)
