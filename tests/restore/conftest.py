"""Synthetic photos for the restoration tests, made with NumPy and SciPy only; the fixture
``synth`` holds the functions below (``synth.clean_photo(...)``), ``photo`` one clean photo.

- ``clean_photo(seed, height, width)``: (H, W) float32 L* in [0, 100] with the full tonal range,
  gradients, soft-edged shapes and a fine smooth texture; no specks, lines or screens.
- ``add_dust`` / ``add_scratches`` / ``add_grain`` / ``fade`` / ``halftone``: the damage of an
  old print, each returning the damaged copy (and, for dust and scratches, the damaged pixels).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from autocolor.color.lab_numpy import gray_to_lightness


def clean_photo(seed: int = 0, height: int = 192, width: int = 256) -> np.ndarray:
    """(H, W) float32 L* spanning about 2..98: a tilted gradient, two soft discs, a soft bar and
    a low-contrast smooth texture (Gaussian-filtered noise, sigma 4 px)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    ramp = (x * np.cos(angle) + y * np.sin(angle))
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    lightness = 15 + 70 * ramp
    for _ in range(2):
        cy, cx = rng.uniform(0.25, 0.75) * height, rng.uniform(0.25, 0.75) * width
        radius = rng.uniform(0.1, 0.2) * min(height, width)
        disc = (y - cy) ** 2 + (x - cx) ** 2 < radius ** 2
        lightness[disc] = rng.choice([3.0, 97.0])
    top = int(rng.uniform(0.1, 0.7) * height)
    lightness[top:top + height // 6, width // 8:width // 3] = 50.0
    lightness = ndimage.gaussian_filter(lightness, 1.5)
    texture = ndimage.gaussian_filter(rng.standard_normal((height, width)), 4.0)
    lightness += 3.0 * texture / texture.std()
    return np.clip(lightness, 0.0, 100.0).astype(np.float32)


def add_dust(lightness: np.ndarray, count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Specks of radius 1-2 px, each white (L* 97) or black (L* 4) -> (damaged, speck mask)."""
    rng = np.random.default_rng(seed)
    height, width = lightness.shape
    y, x = np.mgrid[0:height, 0:width]
    out, mask = lightness.copy(), np.zeros(lightness.shape, bool)
    for _ in range(count):
        cy, cx = rng.uniform(4, height - 4), rng.uniform(4, width - 4)
        speck = (y - cy) ** 2 + (x - cx) ** 2 <= rng.uniform(1.0, 2.0) ** 2
        speck[int(round(cy)), int(round(cx))] = True
        out[speck] = 97.0 if lightness[speck].mean() < 50 else 4.0  # against its background
        mask |= speck
    return out, mask


def add_scratches(lightness: np.ndarray, count: int,
                  seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Straight lines 1-2 px wide, half to all of the height long, white or black -> (damaged,
    line mask)."""
    rng = np.random.default_rng(seed)
    height, width = lightness.shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out, mask = lightness.copy(), np.zeros(lightness.shape, bool)
    for _ in range(count):
        x0, y0 = rng.uniform(0.15, 0.85) * width, rng.uniform(0.0, 0.3) * height
        length = rng.uniform(0.5, 0.65) * height
        angle = np.pi / 2 + rng.uniform(-0.4, 0.4)
        dy, dx = np.sin(angle), np.cos(angle)
        along = (x - x0) * dx + (y - y0) * dy
        across = np.abs(-(x - x0) * dy + (y - y0) * dx)
        line = (across <= rng.uniform(0.5, 1.0)) & (along >= 0) & (along <= length)
        out[line] = 96.0 if rng.random() < 0.5 else 5.0
        mask |= line
    return out, mask


def add_grain(lightness: np.ndarray, sigma: float, seed: int = 3,
              size: float = 0.0) -> np.ndarray:
    """Gaussian noise of std ``sigma`` L* (blurred by ``size`` px and rescaled when > 0)."""
    noise = np.random.default_rng(seed).standard_normal(lightness.shape)
    if size > 0:
        noise = ndimage.gaussian_filter(noise, size)
        noise /= noise.std()
    return np.clip(lightness + sigma * noise, 0.0, 100.0).astype(np.float32)


def _gray(lightness: np.ndarray) -> np.ndarray:
    codes = np.linspace(0.0, 1.0, 4097, dtype=np.float32)
    return np.interp(lightness, gray_to_lightness(codes), codes)


def _lightness(gray: np.ndarray) -> np.ndarray:
    return gray_to_lightness(np.clip(gray, 0.0, 1.0).astype(np.float32))


def fade(lightness: np.ndarray, black: float = 0.18, white: float = 0.85) -> np.ndarray:
    """A faded print: the sRGB gray codes squeezed into [black, white]."""
    return _lightness(black + (white - black) * _gray(lightness))


def halftone(lightness: np.ndarray, period: float = 5.0, angle: float = 45.0) -> np.ndarray:
    """A round-dot screen of ``period`` px at ``angle`` degrees on the gray codes, with soft dot
    edges; the mean gray of a flat area is about kept."""
    height, width = lightness.shape
    scale = 2 * np.pi / period
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) * np.float32(scale)
    spot = 0.5 * (np.cos(x * cos + y * sin) + np.cos(y * cos - x * sin))  # -1..1
    threshold = (spot + 1) / 2
    gray = np.clip((_gray(lightness) - threshold) * period + 0.5, 0.0, 1.0)
    return _lightness(gray)


def psnr(reference: np.ndarray, candidate: np.ndarray) -> float:
    """L* PSNR in dB (peak 100)."""
    error = np.mean((reference.astype(np.float64) - candidate) ** 2)
    return float(10 * np.log10(100.0 ** 2 / max(error, 1e-12)))


@pytest.fixture(scope="session")
def synth() -> SimpleNamespace:
    """The synthetic photo and damage makers of this module, and ``psnr``."""
    return SimpleNamespace(clean_photo=clean_photo, add_dust=add_dust,
                           add_scratches=add_scratches, add_grain=add_grain, fade=fade,
                           halftone=halftone, psnr=psnr)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A clean (H, W) = (192, 256) L* photo; read-only, copy before changing."""
    lightness = clean_photo(0)
    lightness.flags.writeable = False
    return lightness
