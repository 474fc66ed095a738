"""The fast 3x3 average pool equals avg_pool2d(..., count_include_pad=False), values and gradients."""
import pytest
import torch
import torch.nn.functional as F

from nas_core.spaces.ops import AvgPool3x3, ReLUConvBN, Zero, avg_pool_3x3


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
