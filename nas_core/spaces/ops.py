"""Operations shared by several search spaces.

The 3x3 average pool is the one hot spot: PyTorch's CPU ``avg_pool2d`` with
``count_include_pad=False`` is slow, above all its backward pass at stride 1.
``avg_pool_3x3`` computes the same thing as a depthwise convolution with a
kernel of ones (a 3x3 box sum, fast through oneDNN) times a precomputed map of
1 / (number of in-image pixels under the window). ``benchmarks/bench_avgpool.py``
measures the gain.
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
