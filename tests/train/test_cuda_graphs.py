"""On a GPU: the graph-captured step trains as well as the eager one. Skipped without CUDA
(the CPU suite checks everything but the capture itself in test_step_runner.py)."""

import pytest
import torch

from cnnlab.analyses.grad_flow.measure import GradFlowRecorder
from cnnlab.data.synthetic import make_synthetic
from cnnlab.models import create_model
from cnnlab.train import TrainConfig, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA GPU")


@pytest.mark.parametrize("model,precision", [("simple-cnn", "bf16"), ("cnn-custom-act", "bf16"),
                                             ("cnn-lppool", "fp32"), ("resnet-basic", "bf16"), ("fc-deep", "fp32")])
def test_graph_and_eager_reach_the_same_accuracy(model, precision):
    data = make_synthetic(n_train=3000, n_test=1000, shape=(3, 32, 32))  # 3000 = 23 full batches + 56
    results = {}
    for graphs in (False, True):
        accuracies = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            net = create_model(model, data.in_shape, data.num_classes)
            config = TrainConfig(epochs=3, batch_size=128, optimizer="adamw", schedule="cosine", lr=2e-3,
                                 weight_decay=0.05, augment=True, log_steps=True, precision=precision, seed=seed,
                                 cuda_graphs=graphs)
            recorder = GradFlowRecorder(every=10)
            history = train(net, data, config, callbacks=[recorder], device="cuda", verbosity="none")
            assert history.status == "done"
            assert history.step_mode == ("cuda-graph" if graphs else "eager")
            assert len(history.steps["loss"]) == 3 * 24 and recorder.steps == list(range(0, 72, 10))
            accuracies.append(history.final["test_acc"])
        results[graphs] = sum(accuracies) / len(accuracies)
    assert results[False] > 0.8 and abs(results[True] - results[False]) < 0.05, results


def test_a_captured_step_clips_the_gradient_like_an_eager_one():
    """grad_clip inside the graph: the same step losses as eager steps (no augmentation or dropout,
    so the two paths draw nothing differently), and not those of the unclipped run."""
    data = make_synthetic(n_train=1000, n_test=200, shape=(3, 32, 32))
    losses = {}
    for graphs, clip in ((False, 0.05), (True, 0.05), (True, 0.0)):
        torch.manual_seed(0)
        net = create_model("simple-cnn", data.in_shape, data.num_classes)
        config = TrainConfig(epochs=2, batch_size=128, lr=3e-3, precision="fp32", grad_clip=clip, log_steps=True,
                             cuda_graphs=graphs)
        history = train(net, data, config, device="cuda", verbosity="none")
        assert history.step_mode == ("cuda-graph" if graphs else "eager")
        losses[graphs, clip] = torch.tensor(history.steps["loss"])
    torch.testing.assert_close(losses[True, 0.05], losses[False, 0.05], rtol=1e-3, atol=1e-4)
    assert not torch.allclose(losses[True, 0.05], losses[True, 0.0], rtol=1e-3, atol=1e-4)
