"""Operations shared by several search spaces.

Pooling is where PyTorch's CPU kernels are slow on the small NCHW tensors of
this study:

- ``avg_pool2d`` with ``count_include_pad=False``, above all its backward pass
  at stride 1. ``avg_pool_3x3`` computes the same thing as a depthwise
  convolution with a kernel of ones (a 3x3 box sum, fast through oneDNN) times
  a precomputed map of 1 / (number of in-image pixels under the window);
  ``benchmarks/bench_avgpool.py`` measures the gain. (Equal up to rounding, not
  bit for bit, so spaces whose tables were made with ``F.avg_pool2d`` keep it.)
- ``max_pool2d``, whose CPU kernel vectorises over channels only in the
  channels-last layout. ``max_pool2d`` here pools a channels-last copy and
  converts back: the same values, argmax indices and gradients bit for bit
  (a max is exact, and the backward adds each input's gradients in the same
  order), so tables made with ``F.max_pool2d`` retrain to the same numbers.
  Several times faster per call; NAS-Bench-101 and DARTS-CIFAR10 networks train
  about 1.3x faster one at a time (10-12% less with two trainings sharing the
  machine). ``benchmarks/bench_maxpool.py`` measures it, op by op and on whole
  stand-alone trainings.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

_ones_kernels: dict[tuple, torch.Tensor] = {}
_inverse_counts: dict[tuple, torch.Tensor] = {}


def _window_counts(size: int, stride: int) -> list[int]:
    """For each output position along one axis, how many of the 3 taps fall inside the image."""
    n_out = (size - 1) // stride + 1
    return [min(stride * i + 1, size - 1) - max(stride * i - 1, 0) + 1 for i in range(n_out)]


def _inverse_count_map(height: int, width: int, stride: int, dtype, device) -> torch.Tensor:
    key = (height, width, stride, dtype, device)
    if key not in _inverse_counts:
        rows = torch.tensor(_window_counts(height, stride), dtype=torch.float64)
        cols = torch.tensor(_window_counts(width, stride), dtype=torch.float64)
        inv = 1.0 / (rows[:, None] * cols[None, :])
        _inverse_counts[key] = inv.to(dtype=dtype, device=device)[None, None]
    return _inverse_counts[key]


def _ones_kernel(channels: int, dtype, device) -> torch.Tensor:
    key = (channels, dtype, device)
    if key not in _ones_kernels:
        _ones_kernels[key] = torch.ones(channels, 1, 3, 3, dtype=dtype, device=device)
    return _ones_kernels[key]


def avg_pool_3x3(x: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """Same as ``F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)`` for NCHW input."""
    if stride not in (1, 2):
        raise ValueError(f"avg_pool_3x3 supports stride 1 or 2, got {stride}")
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    box_sum = F.conv2d(x, _ones_kernel(channels, x.dtype, x.device), None, stride, 1, 1, channels)
    # in place: the convolution's backward does not need its output
    return box_sum.mul_(_inverse_count_map(height, width, stride, x.dtype, x.device))


class AvgPool3x3(nn.Module):
    """3x3 average pooling, padding 1, padded pixels not counted (no parameters)."""

    def __init__(self, stride: int = 1):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return avg_pool_3x3(x, self.stride)

    def extra_repr(self):
        return f"stride={self.stride}"


class _ChannelsLastMaxPool(torch.autograd.Function):
    """One autograd node, like ``F.max_pool2d``'s own, that pools and back-propagates in the
    channels-last layout and hands NCHW tensors in and out. One node matters: extra nodes
    (``contiguous`` calls seen by autograd) would change the order in which the gradients of
    a tensor with several consumers are summed, and a channels-last gradient would send the
    convolutions before it down other kernels, so the trained weights would differ by
    rounding."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, ceil_mode):
        x_cl = x.contiguous(memory_format=torch.channels_last)
        out, indices = torch.ops.aten.max_pool2d_with_indices(x_cl, [kernel_size] * 2, [stride] * 2,
                                                              [padding] * 2, [1, 1], ceil_mode)
        ctx.save_for_backward(x_cl, indices)
        ctx.pool = kernel_size, stride, padding, ceil_mode
        return out.contiguous()

    @staticmethod
    def backward(ctx, grad):
        x_cl, indices = ctx.saved_tensors
        k, s, p, ceil_mode = ctx.pool
        grad_x = torch.ops.aten.max_pool2d_with_indices_backward(
            grad.contiguous(memory_format=torch.channels_last), x_cl, [k] * 2, [s] * 2, [p] * 2, [1, 1],
            ceil_mode, indices)
        return grad_x.contiguous(), None, None, None, None


def max_pool2d(x: torch.Tensor, kernel_size: int, stride: int, padding: int = 0, ceil_mode: bool = False):
    """``F.max_pool2d`` of NCHW input with identical results, through PyTorch's vectorised
    channels-last CPU kernel (other devices and layouts: ``F.max_pool2d`` itself)."""
    if x.device.type != "cpu" or x.dim() != 4 or not x.is_contiguous():
        return F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode)
    if torch.is_grad_enabled() and x.requires_grad:
        return _ChannelsLastMaxPool.apply(x, kernel_size, stride, padding, ceil_mode)
    pooled = F.max_pool2d(x.contiguous(memory_format=torch.channels_last), kernel_size, stride, padding,
                          ceil_mode=ceil_mode)  # no gradient: the kernel without argmax indices, faster still
    return pooled.contiguous()


class MaxPool2d(nn.Module):
    """``nn.MaxPool2d`` through ``max_pool2d`` (no parameters or buffers: state dicts unchanged)."""

    def __init__(self, kernel_size: int, stride: int, padding: int = 0, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.ceil_mode = kernel_size, stride, padding, ceil_mode

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, ceil_mode={self.ceil_mode}"


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d -> BatchNorm2d; the conv has a bias only when BN has no affine shift."""

    def __init__(self, c_in, c_out, kernel_size, stride=1, padding=0, dilation=1,
                 affine=True, track_running_stats=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding,
                      dilation=dilation, bias=not affine),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` operation: zeros shaped like the (strided) input."""

    def __init__(self, stride: int = 1):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return x.mul(0.0)

    def extra_repr(self):
        return f"stride={self.stride}"
