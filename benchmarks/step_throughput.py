"""Training throughput of cnnlab's own trainer: eager steps vs CUDA-graph replay vs several runs
sharing one device, per model, side by side in one process; optionally the wall-clock of the
whole suite of studies.

    python benchmarks/step_throughput.py [--epochs 4] [--images 20000] [--shared 4]
    python benchmarks/step_throughput.py --suite quick --data-dir ../shared/datasets
    python benchmarks/step_throughput.py --suite full --data-dir DATA --stand-in mnist=fashion-mnist  # offline

Each model trains from the same seed on synthetic images of its study's input shape (the
throughput of a step does not depend on pixel values) with the study's batch size, Adam and
`--precision auto` (bf16 + channels-last where the hardware has fast bf16). Figures are the
trainer's own images/s of the training loop (evaluation excluded), median over the epochs
after the first (the first pays for warm-up, cuDNN autotuning and the graph capture):
- eager:  cuda_graphs=False, every step launched from Python;
- graph:  cuda_graphs=True, full batches replayed from one CUDA graph (CUDA only);
- shared: N processes train the same model at once on the same device (graphs where
          available), started together behind a barrier; the figure is their sum.
On the CPU the graph column says n/a and the shared processes split the cores.
"""

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from cnnlab.data.synthetic import make_synthetic
from cnnlab.models import create_model
from cnnlab.train import TrainConfig, resolve_device, resolve_precision, train
from cnnlab.train.device import device_name

CASES = [("simple-cnn", 64, (1, 28, 28)), ("kernel-3x3", 128, (3, 32, 32)), ("resnet-basic", 128, (3, 32, 32))]


def throughput(model_name, batch, shape, graphs, device, epochs, images, threads=None, barrier=None) -> float:
    """Median images/s of the training loop over epochs 2..N of one run."""
    if threads:
        torch.set_num_threads(threads)
    data = make_synthetic(n_train=images, n_test=500, shape=shape)
    torch.manual_seed(0)
    model = create_model(model_name, data.in_shape, data.num_classes)
    config = TrainConfig(epochs=epochs, batch_size=batch, optimizer="adam", precision="auto", cuda_graphs=graphs)
    if barrier is not None:
        barrier.wait()  # all shared runs start their first epoch together
    history = train(model, data, config, device=device, verbosity="none")
    return statistics.median(row["images_per_second"] for row in history.epochs[1:])


def _shared_worker(args):
    return throughput(*args)


def shared_throughput(model_name, batch, shape, device, epochs, images, processes: int) -> float:
    ctx = mp.get_context("spawn")  # CUDA cannot be used in forked children
    threads = max(1, torch.get_num_threads() // processes) if device.type == "cpu" else None
    with ctx.Manager() as manager:
        barrier = manager.Barrier(processes)
        jobs = [(model_name, batch, shape, device.type == "cuda", str(device), epochs, images, threads, barrier)
                for _ in range(processes)]
        with ctx.Pool(processes) as pool:
            return sum(pool.map(_shared_worker, jobs))


def suite_wall_clock(profile: str, data_dir: str, device, stand_in=()) -> None:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "cnnlab", "run", "all", "--profile", profile, "--out", out,
                   "--data-dir", data_dir, "--device", str(device), "--quiet"]
        for swap in stand_in:
            command += ["--stand-in", swap]
        print(f"\nsuite: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            print(f"suite failed (exit {result.returncode}): {result.stderr.strip().splitlines()[-1:]}")
            return
        print(f"suite wall-clock: {seconds:.0f} s ({seconds / 60:.1f} min) for profile {profile} on "
              f"{device_name(device)}, training, analyses and reports included")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--images", type=int, default=20000, help="training images per epoch")
    parser.add_argument("--shared", type=int, default=4, help="processes sharing the device")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--models", nargs="*", default=[m for m, _, _ in CASES])
    parser.add_argument("--suite", choices=["quick", "full"], default=None,
                        help="also time `cnnlab run all --profile ...` end to end")
    parser.add_argument("--data-dir", default=None, help="dataset root for --suite")
    parser.add_argument("--stand-in", action="append", default=[], metavar="OLD=NEW",
                        help="passed to `cnnlab run all`, e.g. mnist=fashion-mnist where full MNIST is not at hand")
    args = parser.parse_args()

    device = resolve_device(args.device)
    precision = resolve_precision("auto", device)
    print(f"device: {device_name(device)} ({device.type}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, precision {precision.name}"
          f"{' + channels-last' if precision.channels_last else ''}; {args.images:,} images x {args.epochs} epochs, "
          f"median images/s of epochs 2..{args.epochs}", flush=True)
    header = f"{'model':14} {'batch':>5} {'input':8} {'eager':>10} {'graph':>10} {f'shared x{args.shared}':>12}  graph/eager"
    print(header)
    for model_name, batch, shape in CASES:
        if model_name not in args.models:
            continue
        eager = throughput(model_name, batch, shape, False, device, args.epochs, args.images)
        graph = throughput(model_name, batch, shape, True, device, args.epochs, args.images) \
            if device.type == "cuda" else None
        shared = shared_throughput(model_name, batch, shape, device, args.epochs, args.images, args.shared) \
            if args.shared > 1 else None
        cell = lambda v: f"{v:10,.0f}" if v is not None else f"{'n/a':>10}"  # noqa: E731
        ratio = f"{graph / eager:.2f}x" if graph else "n/a (CUDA only)"
        print(f"{model_name:14} {batch:5d} {'x'.join(map(str, shape)):8} {cell(eager)} {cell(graph)} "
              f"{cell(shared):>12}  {ratio}", flush=True)
    if args.suite:
        if not args.data_dir:
            parser.error("--suite needs --data-dir")
        suite_wall_clock(args.suite, args.data_dir, device, args.stand_in)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
