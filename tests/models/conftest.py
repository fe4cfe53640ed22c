import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny tensors: thread start-up and contention on a shared CPU cost more than they save."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
