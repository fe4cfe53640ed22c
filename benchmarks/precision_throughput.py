"""Training steps in fp32 (channels-last, as `--precision fp32` runs on a CPU) against bf16 autocast
(what `--precision auto` picks where the CPU has AVX512-BF16 or AMX), per model of the built-in
studies, side by side in one process.

Why it exists: `--precision auto` chooses bf16 on any CPU with native bf16 math. A user read the
README's table as saying bf16 is slower on an AVX512-BF16 CPU without AMX; those rows came from two
different CPUs. This script measures the choice on the machine at hand.

Each model gets its study's input shape, random images and labels (a step's cost does not depend
on pixel values), Adam, the batch size given and one thread (as the quick profile's workers run).
Both precisions are built from the same seed, warmed up, then timed step by step in alternation
(fp32, bf16, fp32, ...) so machine noise hits both alike. Prints images/s (median, and the
quartiles of the per-step ratio) and the CPU, threads and torch version.

    python benchmarks/precision_throughput.py [--threads 1] [--batch 128] [--steps 12] [--models fc-deep ...]
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from cnnlab.models import create_model
from cnnlab.studies.loader import builtin_names, load_study
from cnnlab.train.device import cpu_model
from cnnlab.train.precision import BF16, FP32_CPU, cpu_supports_bf16

SHAPES = {"mnist": (1, 28, 28), "mnist-small": (1, 28, 28), "cifar10": (3, 32, 32)}


def study_models() -> dict[str, tuple]:
    """Every model of the built-in studies with its study's input shape."""
    out = {}
    for name in builtin_names():
        study = load_study(name)
        for m in study.models:
            out.setdefault(m.name, (SHAPES[study.dataset], dict(m.kwargs)))
    return out


def step(model, optimizer, x, y, precision):
    with precision.autocast("cpu"):
        loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = study_models()
    names = args.models or list(models)
    print(f"{cpu_model()}, {args.threads} thread(s), torch {torch.__version__}, batch {args.batch}, "
          f"native bf16: {cpu_supports_bf16()}")
    print(f"{'model':20s} {'fp32 img/s':>11s} {'bf16 img/s':>11s} {'bf16/fp32':>10s}  (quartiles of the per-step ratio)")
    ratios = []
    for name in names:
        shape, kwargs = models[name]
        setups = {}
        for precision in (FP32_CPU, BF16):
            torch.manual_seed(0)
            model = precision.apply_to_model(create_model(name, in_shape=shape, num_classes=10, **kwargs))
            x = precision.apply_to_inputs(torch.randn(args.batch, *shape))
            y = torch.randint(0, 10, (args.batch,))
            setups[precision.name] = (model, torch.optim.Adam(model.parameters()), x, y, precision)
        for _ in range(args.warmup):
            for setup in setups.values():
                step(*setup)
        times = {key: [] for key in setups}
        for _ in range(args.steps):
            for key, setup in setups.items():
                start = time.perf_counter()
                step(*setup)
                times[key].append(time.perf_counter() - start)
        per_step = sorted(f / b for f, b in zip(times["fp32"], times["bf16"]))
        q1, q3 = per_step[len(per_step) // 4], per_step[(3 * len(per_step)) // 4]
        fp32, bf16 = statistics.median(times["fp32"]), statistics.median(times["bf16"])
        ratios.append(fp32 / bf16)
        print(f"{name:20s} {args.batch / fp32:11.0f} {args.batch / bf16:11.0f} {fp32 / bf16:10.2f}  ({q1:.2f}-{q3:.2f})",
              flush=True)
    print(f"median over {len(ratios)} models: bf16 is {statistics.median(ratios):.2f}x fp32's speed "
          f"(range {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
