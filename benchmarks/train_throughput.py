"""Training throughput: cnnlab's trainer vs the reference loop the course reports used.

Same model (simple-cnn), batch size (64), optimizer (Adam, lr 1e-3) and seed on Fashion-MNIST.
(a) cnnlab: data as uint8 tensors on the device, batch-wise normalisation, --precision auto.
(b) reference: torchvision FashionMNIST + ToTensor + Normalize through a DataLoader, fp32.
Both loops first run WARMUP_STEPS untimed steps on scratch copies (oneDNN picks and
JIT-compiles its kernels on first use), then alternate epoch by epoch in one process
(a1, b1, a2, b2, ...), so machine noise hits both alike. Prints images/s of each epoch's
training loop (evaluation excluded), the median ratio, and test accuracy of both after
the last epoch.

    python benchmarks/train_throughput.py --data-dir ../shared/datasets [--epochs 2] [--seeds 3]
"""

import argparse
import copy
import itertools
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

from cnnlab.data import load_dataset
from cnnlab.models import create_model
from cnnlab.train import Callback, TrainConfig, resolve_device, resolve_precision, train
from cnnlab.train.device import device_name, synchronize


def reference_epoch(model, loader, optimizer, device) -> float:
    """One epoch of the course reports' loop; returns images/s of the training loop."""
    model.train()
    seen = 0
    synchronize(device)
    t0 = time.perf_counter()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        seen += len(y)
    synchronize(device)
    return seen / (time.perf_counter() - t0)


@torch.no_grad()
def reference_accuracy(model, loader, device) -> float:
    model.eval()
    correct = total = 0
    for x, y in loader:
        correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
        total += len(y)
    return correct / total


WARMUP_STEPS = 100


def warm_up(data, reference, train_loader, config, device):
    """Untimed steps of both loops on scratch copies; the timed models are left untouched."""
    scratch = create_model("simple-cnn", data.in_shape, data.num_classes)
    warm_config = TrainConfig(**{**config.to_dict(), "epochs": 1})
    train(scratch, data.subset(WARMUP_STEPS * config.batch_size), warm_config, device=device, verbosity="none")
    scratch_ref = copy.deepcopy(reference)
    optimizer = torch.optim.Adam(scratch_ref.parameters(), lr=1e-3)
    for x, y in itertools.islice(train_loader, WARMUP_STEPS):
        optimizer.zero_grad()
        F.cross_entropy(scratch_ref(x.to(device)), y.to(device)).backward()
        optimizer.step()


class AlternateWithReference(Callback):
    """After each cnnlab epoch, train the reference model for one epoch."""

    def __init__(self, model, train_loader, device):
        self.model, self.loader, self.device = model, train_loader, device
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.images_per_second = []

    def on_epoch_end(self, model, epoch, metrics):
        ips = reference_epoch(self.model, self.loader, self.optimizer, self.device)
        self.images_per_second.append(ips)
        print(f"  epoch {epoch}: cnnlab {metrics['images_per_second']:8.0f} img/s | reference {ips:8.0f} img/s",
              flush=True)


def compare_once(seed, data, args, device):
    """One side-by-side comparison from `seed`: per-epoch img/s of both and final test accuracy."""
    # The reference normalises with the same statistics as cnnlab, so the two differ only
    # in the pipeline and precision, not in preprocessing.
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(data.mean, data.std)])
    ref_train = torchvision.datasets.FashionMNIST(args.data_dir, train=True, transform=tf, download=False)
    ref_test = torchvision.datasets.FashionMNIST(args.data_dir, train=False, transform=tf, download=False)
    torch.manual_seed(seed)
    train_loader = DataLoader(ref_train, batch_size=64, shuffle=True)
    test_loader = DataLoader(ref_test, batch_size=1000)

    torch.manual_seed(seed)
    ours = create_model("simple-cnn", data.in_shape, data.num_classes)
    torch.manual_seed(seed)
    reference = create_model("simple-cnn", data.in_shape, data.num_classes).to(device)
    config = TrainConfig(epochs=args.epochs, batch_size=64, lr=1e-3, optimizer="adam", precision=args.precision,
                         seed=seed)
    warm_up(data, reference, train_loader, config, device)
    alternate = AlternateWithReference(reference, train_loader, device)
    history = train(ours, data, config, callbacks=[alternate], device=device, verbosity="none")
    ours_ips = [row["images_per_second"] for row in history.epochs]
    return ours_ips, alternate.images_per_second, history.final["test_acc"], reference_accuracy(reference, test_loader, device)


def spread(values, fmt="{:.0f}"):
    return ", ".join(fmt.format(v) for v in values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=1, help="repeat the comparison from seeds 0..N-1")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()

    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    print(f"device: {device_name(device)} ({device.type}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    print(f"cnnlab precision: {'bf16 autocast' if precision.dtype else 'fp32'}"
          f"{' + channels-last' if precision.channels_last else ''}; reference: fp32, DataLoader(num_workers=0)")
    data = load_dataset("fashion-mnist", data_dir=args.data_dir, download=False)

    ours_ips, ref_ips, acc_diffs = [], [], []
    for seed in range(args.seeds):
        print(f"seed {seed}:", flush=True)
        ours, ref, ours_acc, ref_acc = compare_once(seed, data, args, device)
        ours_ips += ours
        ref_ips += ref
        acc_diffs.append(100 * (ours_acc - ref_acc))
        print(f"  test accuracy after {args.epochs} epochs: cnnlab {100 * ours_acc:.2f}% | "
              f"reference {100 * ref_acc:.2f}% ({acc_diffs[-1]:+.2f} points)", flush=True)

    ratios = [a / b for a, b in zip(ours_ips, ref_ips)]
    print(f"\ncnnlab    : median {statistics.median(ours_ips):8.0f} img/s (epochs: {spread(ours_ips)})")
    print(f"reference : median {statistics.median(ref_ips):8.0f} img/s (epochs: {spread(ref_ips)})")
    print(f"ratio     : median {statistics.median(ratios):.2f}x (per epoch: {spread(ratios, '{:.2f}')}; "
          f"target >= 2.5 on a 2-core CPU)")
    print(f"accuracy  : cnnlab - reference = {statistics.mean(acc_diffs):+.2f} points mean over {args.seeds} seed(s) "
          f"(per seed: {spread(acc_diffs, '{:+.2f}')}; target within 0.5)")


if __name__ == "__main__":
    main()
