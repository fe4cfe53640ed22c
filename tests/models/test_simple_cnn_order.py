import torch
import torch.nn as nn

from cnnlab.models import create_model


def test_pool_before_relu_is_the_same_function_and_gradient():
    """simple-cnn pools before its ReLU; that must equal the textbook conv-ReLU-pool order."""
    torch.manual_seed(0)
    net = create_model("simple-cnn", (1, 28, 28)).double()
    layers = list(net.features)
    textbook = nn.Sequential(layers[0], layers[2], layers[1], layers[3], layers[5], layers[4], net.head)
    x = torch.randn(4, 1, 28, 28, dtype=torch.float64, requires_grad=True)
    out_a = net(x)
    grad_a = torch.autograd.grad(out_a.sum(), [x, *net.parameters()])
    out_b = textbook(x)
    grad_b = torch.autograd.grad(out_b.sum(), [x, *net.parameters()])
    assert torch.equal(out_a, out_b)
    for a, b in zip(grad_a, grad_b):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)
