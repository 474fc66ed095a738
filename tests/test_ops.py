"""The fast pools: the 3x3 average pool equals avg_pool2d(..., count_include_pad=False) up to rounding;
the max pool equals F.max_pool2d bit for bit, values and gradients (ties and padding included)."""
import pytest
import torch
import torch.nn.functional as F

from nas_core.spaces.ops import AvgPool3x3, MaxPool2d, ReLUConvBN, Zero, avg_pool_3x3, max_pool2d


def reference(x, stride):
    return F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("height,width", [(1, 1), (1, 4), (2, 2), (3, 3), (4, 7), (7, 4), (8, 8), (9, 9), (16, 16), (15, 12)])
def test_avg_pool_matches_torch_values_and_gradients(height, width, stride):
    torch.manual_seed(0)
    x = torch.randn(3, 5, height, width, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y, y_ref = avg_pool_3x3(x, stride), reference(x_ref, stride)
    assert y.shape == y_ref.shape
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-6)
    upstream = torch.randn_like(y)
    y.backward(upstream)
    y_ref.backward(upstream)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("stride", [1, 2])
def test_avg_pool_float64_gradcheck(stride):
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(avg_pool_3x3(x, stride), reference(x, stride))
    assert torch.autograd.gradcheck(lambda t: avg_pool_3x3(t, stride), (x,))


def test_avg_pool_module_and_bad_stride():
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(AvgPool3x3(2)(x), reference(x, 2))
    assert sum(p.numel() for p in AvgPool3x3().parameters()) == 0
    with pytest.raises(ValueError, match="stride"):
        avg_pool_3x3(x, 3)


def test_avg_pool_channels_last_and_batch_one():
    x = torch.randn(1, 4, 8, 8).to(memory_format=torch.channels_last)
    torch.testing.assert_close(avg_pool_3x3(x, 1), reference(x, 1))


def test_relu_conv_bn_and_zero():
    op = ReLUConvBN(4, 6, 3, 1, 1)
    assert op(torch.randn(2, 4, 8, 8)).shape == (2, 6, 8, 8)
    # affine BN: the conv carries no bias (as in NAS-Bench-201)
    assert op.op[1].bias is None and op.op[2].affine and op.op[2].track_running_stats
    assert torch.count_nonzero(Zero()(torch.randn(2, 3, 4, 4))) == 0
    assert Zero(2)(torch.randn(2, 3, 5, 5)).shape == (2, 3, 3, 3)


def _pool_and_grad(pool, x, upstream):
    x = x.detach().clone().requires_grad_(True)
    y = pool(x)
    y.backward(upstream)
    return y.detach(), x.grad


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode", [(3, 1, 1, False), (3, 2, 1, False), (2, 2, 0, True)])
@pytest.mark.parametrize("height,width", [(1, 1), (3, 3), (4, 7), (8, 8), (15, 12), (16, 16)])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_is_bit_identical_to_torch(kernel, stride, padding, ceil_mode, height, width, ties):
    g = torch.Generator().manual_seed(height * 100 + width)
    shape = (3, 5, height, width)
    # few distinct values: many windows with tied maxima, where the argmax rule decides the gradient
    x = torch.randint(0, 3, shape, generator=g).float() if ties else torch.randn(shape, generator=g)
    ours = lambda t: max_pool2d(t, kernel, stride, padding, ceil_mode)  # noqa: E731
    ref = lambda t: F.max_pool2d(t, kernel, stride, padding, ceil_mode=ceil_mode)  # noqa: E731
    upstream = torch.randn(ref(x).shape, generator=g)
    y, grad = _pool_and_grad(ours, x, upstream)
    y_ref, grad_ref = _pool_and_grad(ref, x, upstream)
    assert y.is_contiguous() and y.shape == y_ref.shape
    assert torch.equal(y, y_ref) and torch.equal(grad, grad_ref)


def test_max_pool_module_matches_nn_and_has_no_state():
    x = torch.randn(2, 4, 9, 9)
    ours, ref = MaxPool2d(2, stride=2, ceil_mode=True), torch.nn.MaxPool2d(2, stride=2, ceil_mode=True)
    assert torch.equal(ours(x), ref(x))
    assert not ours.state_dict() and "ceil_mode=True" in repr(ours)
    with torch.no_grad():  # evaluation takes the same path
        assert torch.equal(MaxPool2d(3, 1, 1)(x), F.max_pool2d(x, 3, 1, 1))


@pytest.mark.parametrize("space_name", ["darts_cnn", "nb101"])
def test_training_with_the_fast_max_pool_is_bit_identical(space_name, monkeypatch):
    """Whole networks, where pooled tensors have several consumers: two SGD steps give the same
    weights bit for bit with ``F.max_pool2d`` (what the committed tables were made with)."""
    from nas_core.spaces import get_space, ops

    space = get_space(space_name)
    cfg = space.config("smoke")
    if space_name == "darts_cnn":
        from nas_core.spaces.darts_cnn import DARTS_V2 as arch  # max pools on both inputs of the reduce cell
    else:
        arch = next(a for a in space.sample_many(50, seed=0) if str(a).count("maxpool3x3") >= 2)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, cfg["in_channels"], cfg["image_size"], cfg["image_size"], generator=g)
    y = torch.randint(0, cfg["num_classes"], (8,), generator=g)

    def train():
        torch.manual_seed(0)
        net = space.standalone(arch, cfg)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            out = net(x)
            F.cross_entropy(out[0] if isinstance(out, tuple) else out, y).backward()
            opt.step()
        return net.state_dict()

    ours = train()
    monkeypatch.setattr(ops, "max_pool2d", lambda t, k, s, p=0, c=False: F.max_pool2d(t, k, s, p, ceil_mode=c))
    reference = train()
    assert all(torch.equal(ours[k], reference[k]) for k in ours)
