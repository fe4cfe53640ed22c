"""`mnist-small`: a real MNIST subset (5,000 train / 10,000 test) shipped inside the package,
so that every command works offline out of the box."""

from importlib.resources import files

from cnnlab.data.core import ImageData, channel_stats
from cnnlab.data.idx import read_idx
from cnnlab.data.registry import register_dataset

MNIST_CLASSES = [str(d) for d in range(10)]


@register_dataset("mnist-small", description="real MNIST subset, shipped in the package (offline default)",
                  in_shape=(1, 28, 28), num_classes=10, train_size=5000, test_size=10000, bundled=True)
def load_mnist_small(data_dir=None, download: bool = True) -> ImageData:
    bundled = files("cnnlab.data") / "bundled"
    tensors = [
        read_idx(bundled / f"mnist-small-{split}-{kind}.gz", 3 if kind.startswith("images") else 1)
        for split in ("train", "t10k") for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    ]
    train_x, train_y, test_x, test_y = tensors
    mean, std = channel_stats(train_x.unsqueeze(1))
    return ImageData(
        name="mnist-small", classes=MNIST_CLASSES,
        train_images=train_x.unsqueeze(1), train_labels=train_y.long(),
        test_images=test_x.unsqueeze(1), test_labels=test_y.long(),
        mean=mean, std=std, source="bundled with cnnlab (real MNIST: 5,000 train / 10,000 test)",
    )
