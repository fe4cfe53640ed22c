"""fp32 training steps in NCHW (contiguous) vs NHWC (channels-last) memory layout, per model of
the built-in studies, side by side in one process.

Why it exists: `--precision fp32` (and `auto` on a CPU without fast bf16) trains in
channels-last on the CPU because oneDNN's convolutions and max-pooling are faster there;
this script is the measurement behind that default, to re-run on other hardware.

Each model gets its study's input shape, random images and labels (a step's cost does not
depend on pixel values), Adam (fused), the batch size given. Both layouts are built from the
same seed, warmed up, then timed step by step in alternation (contiguous, channels-last,
contiguous, ...) so machine noise hits both alike; figures are medians over the steps.

    python benchmarks/layout_throughput.py [--threads 1] [--batch 32] [--steps 8] [--models simple-cnn ...]
"""

import argparse
import statistics
import time
from importlib import resources

import torch
import torch.nn.functional as F

from cnnlab.models import create_model
from cnnlab.studies.loader import load_study

WARMUP_STEPS = 3


def study_models() -> list[tuple[str, dict, tuple[int, int, int]]]:
    """(model name, kwargs, input shape) of every distinct model of the built-in studies."""
    cases, seen = [], set()
    for file in sorted(resources.files("cnnlab.studies").iterdir(), key=lambda f: f.name):
        if not file.name.endswith(".toml"):
            continue
        study = load_study(str(file))
        shape = (1, 28, 28) if "mnist" in study.dataset else (3, 32, 32)
        for spec in study.models:
            key = (spec.name, repr(spec.kwargs), shape)
            if key not in seen:
                seen.add(key)
                cases.append((spec.name, dict(spec.kwargs), shape))
    return cases


def step_function(name, kwargs, shape, x, y, channels_last: bool):
    torch.manual_seed(0)
    model = create_model(name, shape, 10, **kwargs)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step


def compare(name, kwargs, shape, batch: int, steps: int) -> tuple[float, float]:
    """Median images/s of a training step: (contiguous, channels-last)."""
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    steps_of = [step_function(name, kwargs, shape, x, y, cl) for cl in (False, True)]
    for step in steps_of:
        for _ in range(WARMUP_STEPS):
            step()
    seconds = ([], [])
    for _ in range(steps):
        for layout, step in enumerate(steps_of):
            start = time.perf_counter()
            step()
            seconds[layout].append(time.perf_counter() - start)
    return tuple(batch / statistics.median(s) for s in seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch", type=int, default=32, help="32: the quick profile; 128: the full one")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per layout")
    parser.add_argument("--models", nargs="*", default=None, help="default: every model of the built-in studies")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU fp32 training step, torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"median of {args.steps} alternating steps per layout")
    print(f"{'model':22} {'input':8} {'contiguous':>12} {'channels-last':>14}  ratio")
    ratios = []
    for name, kwargs, shape in study_models():
        if args.models and name not in args.models:
            continue
        contiguous, channels_last = compare(name, kwargs, shape, args.batch, args.steps)
        ratios.append(channels_last / contiguous)
        print(f"{name:22} {'x'.join(map(str, shape)):8} {contiguous:9,.0f}/s {channels_last:11,.0f}/s  "
              f"{ratios[-1]:.2f}x", flush=True)
    print(f"channels-last / contiguous: median {statistics.median(ratios):.2f}x, "
          f"range {min(ratios):.2f}x to {max(ratios):.2f}x over {len(ratios)} models")


if __name__ == "__main__":
    main()
