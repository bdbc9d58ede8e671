"""The effects of age, printing and scanning, one pure function each.

Images are float arrays in [0, 1]: gray (H, W) or RGB (H, W, 3), sRGB-encoded (the values a scan
stores). Every function returns a new float32 array of the same shape (:func:`tone` takes gray
and returns RGB) and leaves its input alone. Lengths are in pixels of the array given. Random
effects take a :class:`numpy.random.Generator` and draw from nothing else. The damage effects
(:func:`dust`, :func:`scratches`, :func:`creases`) also return the (H, W) bool mask of the pixels
they changed.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage

from autocolor.color.lab_numpy import gray_to_lightness, lab_to_rgb

# Toners: hue (deg, CIE Lab, D65) and chroma at mid-tones of the full toner, and how the toner
# moves the lightness L* of the gray levels: L' = black + (100 - black) * (L / 100) ** gamma.
#   sepia     warm brown (a ~ +8, b ~ +21 at mid-gray); bleach-and-redevelop lightens the image
#             and leaves brown, not black, shadows: black L* 8, gamma 2 ** -0.15.
#   selenium  purple-brown (a ~ +10, b ~ -2); selenium intensifies the print: denser mid-tones
#             (gamma 2 ** +0.15), blacks stay black.
#   cyanotype Prussian blue (a ~ -3, b ~ -35); iron prints have a weak maximum density: black
#             L* 15, gamma 1.
# (hue_deg, chroma, black_l, log2_gamma)
TONERS: dict[str, tuple[float, float, float, float]] = {
    "sepia": (70.0, 22.0, 8.0, -0.15),
    "selenium": (350.0, 10.0, 0.0, 0.15),
    "cyanotype": (265.0, 35.0, 15.0, 0.0),
}
_TONE_LEVELS = 4096  # gray levels in a toner's lookup table (nearest: error < 1/8000)


def _check(image: object, name: str = "image", gray_only: bool = False) -> np.ndarray:
    if not isinstance(image, np.ndarray) or not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} must be a floating-point numpy.ndarray in [0, 1], got "
                        f"{getattr(image, 'dtype', type(image).__name__)}")
    shapes = "(H, W)" if gray_only else "(H, W) or (H, W, 3)"
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3 and not gray_only)
            ) or min(image.shape[:2]) < 1:
        raise ValueError(f"{name} must have shape {shapes} and not be empty, got {image.shape}")
    return image


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


def _clip(image: np.ndarray) -> np.ndarray:
    return np.clip(image, 0.0, 1.0, out=image).astype(np.float32, copy=False)


# -- exposure and fading ------------------------------------------------------------------------

def fade(image: np.ndarray, black: float, white: float, gamma: float = 1.0) -> np.ndarray:
    """Faded print: ``black + (white - black) * image ** gamma``.

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        black: output level of black, in [0, 1) (lifted blacks of a faded print).
        white: output level of white, in (black, 1] (dulled or yellowed paper).
        gamma: > 0; < 1 lightens the mid-tones, > 1 darkens them.
    """
    image = _check(image)
    _check_range("black", black, 0.0, 1.0)
    _check_range("white", white, black, 1.0)
    _check_range("gamma", gamma, 1e-3, 1e3)
    out = np.power(np.clip(image, 0.0, 1.0), np.float32(gamma), dtype=np.float32)
    return _clip(np.float32(black) + np.float32(white - black) * out)


def vignette(image: np.ndarray, amount: float) -> np.ndarray:
    """Darkening toward the corners: gain ``1 - amount * (r / r_corner) ** 2``, r the distance
    from the centre; the corner pixels keep ``1 - amount`` of their value.

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        amount: in [0, 1], the corners' darkening as a fraction of the value.
    """
    image = _check(image)
    _check_range("amount", amount, 0.0, 1.0)
    height, width = image.shape[:2]
    y = (np.arange(height, dtype=np.float32) - np.float32((height - 1) / 2))[:, None]
    x = (np.arange(width, dtype=np.float32) - np.float32((width - 1) / 2))[None, :]
    corner = max(((height - 1) / 2) ** 2 + ((width - 1) / 2) ** 2, 1e-12)
    gain = 1.0 - np.float32(amount / corner) * (y * y + x * x)  # (H, W)
    return _clip(image * (gain if image.ndim == 2 else gain[..., None]))


def uneven_exposure(image: np.ndarray, amount: float, angle: float) -> np.ndarray:
    """A linear exposure gradient across the print: the gain falls from 1 at one edge to
    ``1 - amount`` at the opposite one.

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        amount: in [0, 1], the darkening of the far side as a fraction of the value.
        angle: direction (deg) in which it darkens: 0 toward the right, 90 toward the bottom.
    """
    image = _check(image)
    _check_range("amount", amount, 0.0, 1.0)
    height, width = image.shape[:2]
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    along = (np.arange(width, dtype=np.float32)[None, :] * np.float32(cos)
             + np.arange(height, dtype=np.float32)[:, None] * np.float32(sin))  # (H, W)
    low, high = float(along.min()), float(along.max())
    gain = 1.0 - np.float32(amount) * (along - np.float32(low)) / np.float32(max(high - low, 1e-6))
    return _clip(image * (gain if image.ndim == 2 else gain[..., None]))


# -- tone ---------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _tone_table(toner: str, strength: float) -> np.ndarray:
    """(_TONE_LEVELS, 3) float32: the toned sRGB of gray levels k / (_TONE_LEVELS - 1)."""
    hue, chroma, black, log2_gamma = TONERS[toner]
    share = gray_to_lightness(np.linspace(0, 1, _TONE_LEVELS, dtype=np.float32)) / 100.0
    black_share = strength * black / 100.0
    share = black_share + (1.0 - black_share) * share ** (2.0 ** (strength * log2_gamma))
    chroma_l = strength * chroma * 4.0 * share * (1.0 - share)  # most in the mid-tones
    lab = np.stack([100.0 * share, chroma_l * math.cos(math.radians(hue)),
                    chroma_l * math.sin(math.radians(hue))], axis=-1)[None].astype(np.float32)
    neutral = lab_to_rgb(lab * np.array([1, 0, 0], dtype=np.float32))[0]  # (N, 3) gray
    # The gray of the new lightness plus the toner's colour: exactly R = G = B at no chroma.
    table = neutral[:, 1:2] + (lab_to_rgb(lab)[0] - neutral)
    return np.clip(table, 0.0, 1.0).astype(np.float32)


def tone(gray: np.ndarray, toner: str, strength: float) -> np.ndarray:
    """A toned print of a gray image (see :data:`TONERS` for the colours and lightness curves).

    Args:
        gray: (H, W) float in [0, 1].
        toner: a key of :data:`TONERS`: "sepia", "selenium" or "cyanotype".
        strength: in [0, 1], how far toward the toner: 0 is neutral gray (R = G = B = gray), 1
            the full toner (its chroma in the mid-tones and its lightness curve).

    Returns: (H, W, 3) float32 sRGB in [0, 1].
    """
    gray = _check(gray, "gray", gray_only=True)
    if toner not in TONERS:
        raise ValueError(f"unknown toner {toner!r}; available: {', '.join(TONERS)}")
    _check_range("strength", strength, 0.0, 1.0)
    table = _tone_table(toner, float(strength))
    index = np.clip(gray, 0.0, 1.0) * np.float32(_TONE_LEVELS - 1)
    return table[np.rint(index).astype(np.intp)]


# -- softness, grain, JPEG, halftone ------------------------------------------------------------

def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` px (lens, paper, scanner optics).

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        sigma: >= 0 px (0: a copy).
    """
    image = _check(image)
    _check_range("sigma", sigma, 0.0, 1e4)
    image = image.astype(np.float32)  # a copy
    if sigma == 0:
        return image
    sigmas = (sigma, sigma) if image.ndim == 2 else (sigma, sigma, 0.0)
    return _clip(ndimage.gaussian_filter(image, sigmas, mode="reflect"))


def low_res(image: np.ndarray, factor: float) -> np.ndarray:
    """Scanned small and enlarged: area-averaged down by ``factor``, bicubic back up.

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        factor: >= 1, the linear downscale factor (the small size is rounded, at least 1 px).
    """
    image = _check(image)
    _check_range("factor", factor, 1.0, 1e4)
    height, width = image.shape[:2]
    small = (max(1, round(width / factor)), max(1, round(height / factor)))
    planes = [image] if image.ndim == 2 else [image[..., c] for c in range(3)]
    out = []
    for plane in planes:
        picture = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
        picture = picture.resize(small, Image.Resampling.BOX)
        out.append(np.asarray(picture.resize((width, height), Image.Resampling.BICUBIC)))
    return _clip(np.array(out[0] if image.ndim == 2 else np.stack(out, axis=-1)))


def _gaussian_energy(sigma: float) -> float:
    """Sum of squares of scipy's 1-D Gaussian kernel for ``sigma`` (truncate 4)."""
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (x / sigma) ** 2)
    weights /= weights.sum()
    return float((weights**2).sum())


def film_grain(image: np.ndarray, std: float, size: float,
               rng: np.random.Generator) -> np.ndarray:
    """Film grain: correlated Gaussian noise, strongest in the mid-tones.

    White noise is blurred with a Gaussian of sigma ``size`` px (grains larger than a pixel;
    periodic borders, so its statistics are the same everywhere) and rescaled to unit std, then
    added with std ``std * 2 * sqrt(x (1 - x))``: ``std`` at mid-gray, less toward black and
    white. RGB images get the same grain in every channel (it is in the silver).

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        std: >= 0, the grain's std at a value of 0.5.
        size: >= 0 px, the grain's blur sigma (0: independent pixels).
    """
    image = _check(image)
    _check_range("std", std, 0.0, 1.0)
    _check_range("size", size, 0.0, 1e3)
    noise = rng.standard_normal(image.shape[:2], dtype=np.float32)
    if size > 0:
        noise = ndimage.gaussian_filter(noise, size, mode="wrap")
        noise *= np.float32(1.0 / _gaussian_energy(size))  # 2-D std = 1-D energy (separable)
    values = np.clip(image, 0.0, 1.0).astype(np.float32)
    weight = np.sqrt(values * (1.0 - values))
    weight *= np.float32(2.0 * std)
    weight *= noise if image.ndim == 2 else noise[..., None]
    return _clip(values + weight)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip in memory (Pillow, 4:2:0 chroma for RGB), at 8 bits.

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        quality: Pillow quality, 1..100.

    Returns: the decoded image, float32 multiples of 1/255.
    """
    image = _check(image)
    _check_range("quality", quality, 1, 100)
    codes = np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(codes).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded, dtype=np.float32) / np.float32(255.0)


@lru_cache(maxsize=1)
def _spot_cdf() -> np.ndarray:
    """(4097,) float32: the share of a screen cell where the spot function cos u + cos v is
    at or below -2 + 4 k / 4096 (the threshold that makes it uniform, so that a flat gray x
    prints with ink covering 1 - x of the paper)."""
    phase = (np.arange(1024) + 0.5) * (2 * np.pi / 1024)
    spot = (np.cos(phase)[:, None] + np.cos(phase)[None, :]).ravel()
    counts, _ = np.histogram(spot, bins=4096, range=(-2.0, 2.0))
    return np.concatenate([[0.0], np.cumsum(counts) / spot.size]).astype(np.float32)


def halftone(image: np.ndarray, period: float, angle: float = 45.0) -> np.ndarray:
    """Amplitude-modulated round-dot screen, like a newspaper print.

    The screen is a square lattice of period ``period`` px turned by ``angle``; each pixel is
    paper (1) where its value exceeds the screen's threshold there, ink (0) below, with a ramp of
    about half a pixel at the dot edges. The mean of a flat area is kept.

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1] (each channel is screened alike).
        period: > 2 px, the dot spacing along the screen's axes.
        angle: screen angle in degrees (45: the black plate of newspapers).
    """
    image = _check(image)
    _check_range("period", period, 2.0, 1e4)
    height, width = image.shape[:2]
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    y = np.arange(height, dtype=np.float64)[:, None] * (2 * math.pi / period)
    x = np.arange(width, dtype=np.float64)[None, :] * (2 * math.pi / period)
    # (cos(u) + cos(v)) / 2 with u = x cos + y sin, v = y cos - x sin, from outer products.
    xc, xs, yc, ys = x * cos, x * sin, y * cos, y * sin
    spot = (np.cos(xc) * np.cos(ys) - np.sin(xc) * np.sin(ys)
            + np.cos(yc) * np.cos(xs) + np.sin(yc) * np.sin(xs)).astype(np.float32)
    cdf = _spot_cdf()  # (H, W) threshold uniform in [0, 1]:
    index = np.clip(np.rint((spot + 2.0) * np.float32(1024.0)), 0, 4096).astype(np.intp)
    threshold = cdf[index]
    if image.ndim == 3:
        threshold = threshold[..., None]
    out = np.clip(image, 0.0, 1.0) - threshold
    out *= np.float32(period)
    out += np.float32(0.5)
    return _clip(out.astype(np.float32))


# -- damage ---------------------------------------------------------------------------------------

def _offsets(reach: float) -> tuple[np.ndarray, np.ndarray]:
    """(K,) float32 row and column offsets of the pixels within ``reach`` of (0, 0)."""
    span = np.arange(-math.ceil(reach), math.ceil(reach) + 1, dtype=np.float32)
    oy, ox = (grid.ravel() for grid in np.meshgrid(span, span, indexing="ij"))
    keep = oy * oy + ox * ox <= reach * reach
    return oy[keep], ox[keep]


def _strokes(points: np.ndarray, radii: tuple[float, ...],
             shape: tuple[int, int]) -> list[np.ndarray]:
    """For each radius, the (H, W) bool mask of the pixels whose centres lie within it of the
    path through ``points`` ((N, 2) float (y, x) 0.5 px apart, pixel centres at integers)."""
    # Disks of radius r' = sqrt(r^2 + 0.25^2) 0.5 px apart cover a band at least r wide each side.
    squares = [r * r + 0.0625 for r in radii]
    oy, ox = _offsets(math.sqrt(max(squares)) + 0.75)
    points = points.astype(np.float32)
    base = np.rint(points)
    cy = base[:, :1] + oy[None, :]  # (N, K) candidate pixel rows
    cx = base[:, 1:] + ox[None, :]
    distance = (cy - points[:, :1]) ** 2 + (cx - points[:, 1:]) ** 2
    inside = (cy >= 0) & (cy < shape[0]) & (cx >= 0) & (cx < shape[1])
    flat = cy.astype(np.intp) * shape[1] + cx.astype(np.intp)
    masks = []
    for square in squares:
        mask = np.zeros(shape, dtype=bool)
        mask.ravel()[flat[inside & (distance <= square)]] = True
        masks.append(mask)
    return masks


def _paint(image: np.ndarray, mask: np.ndarray, value: float, opacity: float) -> None:
    """In place: the masked pixels move ``opacity`` of the way to gray ``value``."""
    pixels = image.reshape(mask.size, -1)  # a view: (H * W, channels)
    index = np.flatnonzero(mask)
    pixels[index] += np.float32(opacity) * (np.float32(value) - pixels[index])


def _damage_value(rng: np.random.Generator, bright_p: float = 0.5) -> float:
    """Bright (lost emulsion, paper showing: 0.85..1) or dark (dirt: 0..0.2)."""
    return float(rng.uniform(0.85, 1.0) if rng.random() < bright_p else rng.uniform(0.0, 0.2))


def dust(image: np.ndarray, density: float, max_radius: float,
         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Dust specks: small bright and dark elliptic blobs (radius 0.5 px to ``max_radius``) added
    until they cover ``density`` of the area (overshooting by at most one speck).

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        density: in [0, 0.5], the fraction of the pixels to cover.
        max_radius: >= 0.5 px, the largest speck's semi-major axis.

    Returns: the image (float32) and the (H, W) bool mask of the speck pixels.
    """
    image = _check(image)
    _check_range("density", density, 0.0, 0.5)
    _check_range("max_radius", max_radius, 0.5, 1e3)
    out = image.astype(np.float32)
    height, width = image.shape[:2]
    mask = np.zeros((height, width), dtype=bool)
    target = density * height * width
    oy, ox = _offsets(max_radius + 0.75)
    mean_area = math.pi * 0.75 * ((0.5 + max_radius) / 2) ** 2
    covered = 0
    while covered < target:
        count = max(1, int(0.8 * (target - covered) / mean_area))
        centres = rng.random((count, 2)) * np.array([height, width]) - 0.5
        major = rng.uniform(0.5, max_radius, (count, 1))
        minor = major * rng.uniform(0.5, 1.0, (count, 1))
        turn = rng.uniform(0.0, math.pi, (count, 1))
        cy = np.rint(centres[:, :1]) + oy  # (N, K) candidate pixels
        cx = np.rint(centres[:, 1:]) + ox
        dy, dx = cy - centres[:, :1], cx - centres[:, 1:]
        ellipse = (((dx * np.cos(turn) + dy * np.sin(turn)) / major) ** 2
                   + ((dy * np.cos(turn) - dx * np.sin(turn)) / minor) ** 2)
        hit = ((ellipse <= 1.0) | ((oy == 0) & (ox == 0)))  # the centre pixel always
        hit &= (cy >= 0) & (cy < height) & (cx >= 0) & (cx < width)
        for index in range(count):
            rows, cols = cy[index, hit[index]].astype(np.intp), cx[index, hit[index]].astype(np.intp)
            out[rows, cols] = np.float32(_damage_value(rng))
            mask[rows, cols] = True
        covered = int(mask.sum())
    return out, mask


def _walk(start: np.ndarray, heading: float, length: float, wiggle: float,
          rng: np.random.Generator) -> np.ndarray:
    """(N, 2) points (y, x) 0.5 px apart of a random walk whose heading (rad) drifts by
    ``wiggle`` rad per px (std)."""
    steps = max(2, int(length * 2))
    headings = heading + np.cumsum(rng.normal(0.0, wiggle * math.sqrt(0.5), steps))
    moves = 0.5 * np.stack([np.sin(headings), np.cos(headings)], axis=-1)
    return start + np.cumsum(moves, axis=0)


def scratches(image: np.ndarray, count: int, width: float, rng: np.random.Generator,
              film: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Scratches: thin bright or dark lines, partly see-through (opacity 0.7..1).

    A film scratch (chance ``film``): near-vertical (within 5 deg), nearly straight, 50..100 %
    of the height. A print scratch: any direction, gently curved, 10..50 % of the diagonal.

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        count: >= 0 scratches.
        width: >= 1 px, their width.
        film: in [0, 1], the chance that a scratch is a film scratch.

    Returns: the image (float32) and the (H, W) bool mask of the scratched pixels.
    """
    image = _check(image)
    _check_range("count", count, 0, 10_000)
    _check_range("width", width, 1.0, 1e3)
    _check_range("film", film, 0.0, 1.0)
    out = image.astype(np.float32)
    height, width_px = image.shape[:2]
    mask = np.zeros((height, width_px), dtype=bool)
    diagonal = math.hypot(height, width_px)
    for _ in range(int(count)):
        if rng.random() < film:
            length = height * rng.uniform(0.5, 1.0)
            lean = math.radians(float(np.clip(rng.normal(0.0, 2.0), -5.0, 5.0)))
            start = np.array([rng.uniform(0.0, height - length), rng.uniform(0, width_px - 1)])
            points = _walk(start, math.pi / 2 + lean, length, 0.002, rng)
        else:
            length = diagonal * rng.uniform(0.1, 0.5)
            start = rng.random(2) * np.array([height - 1, width_px - 1])
            points = _walk(start, rng.uniform(0, 2 * math.pi), length, 0.01, rng)
        (line,) = _strokes(points, (width / 2,), (height, width_px))
        _paint(out, line, _damage_value(rng), rng.uniform(0.7, 1.0))
        mask |= line
    return _clip(out), mask


def creases(image: np.ndarray, count: int, width: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Creases and cracks: long branching paths, a dark (or, one in four, bright) core of
    ``width`` px lined by a bright 1 px edge where the emulsion broke off.

    A crease (a fold) is a nearly straight path 40..100 % of the longer side; a crack wanders.
    Each has 1..3 branches, 10..40 % of its length, leaving it at 25..70 deg.

    Args:
        image: (H, W) or (H, W, 3) float in [0, 1].
        count: >= 0 creases.
        width: >= 1 px, the core's width (branches: 70 % of it, at least 1 px).

    Returns: the image (float32) and the (H, W) bool mask of the pixels of the cores and edges.
    """
    image = _check(image)
    _check_range("count", count, 0, 10_000)
    _check_range("width", width, 1.0, 1e3)
    out = image.astype(np.float32)
    shape = image.shape[:2]
    mask = np.zeros(shape, dtype=bool)
    side = max(shape)
    for _ in range(int(count)):
        wiggle = 0.01 if rng.random() < 0.5 else 0.08  # fold or crack
        length = side * rng.uniform(0.4, 1.0)
        heading = rng.uniform(0, 2 * math.pi)
        # Start in the middle half, heading back past the centre: most of the path is on the print.
        start = (rng.uniform(0.25, 0.75, 2) * np.array(shape)
                 - 0.5 * length * np.array([math.sin(heading), math.cos(heading)]))
        trunk = _walk(start, heading, length, wiggle, rng)
        paths = [(trunk, width)]
        for _ in range(int(rng.integers(1, 4))):
            fork = int(rng.integers(len(trunk) // 4, len(trunk) - 1))
            (dy, dx), turn = trunk[fork + 1] - trunk[fork], math.radians(rng.uniform(25, 70))
            branch_heading = math.atan2(dy, dx) + (turn if rng.random() < 0.5 else -turn)
            branch = _walk(trunk[fork], branch_heading, length * rng.uniform(0.1, 0.4), wiggle, rng)
            paths.append((branch, max(1.0, 0.7 * width)))
        core = np.zeros(shape, dtype=bool)
        edge = np.zeros(shape, dtype=bool)
        for points, path_width in paths:
            inner, outer = _strokes(points, (path_width / 2, path_width / 2 + 1.0), shape)
            core |= inner
            edge |= outer
        edge &= ~core
        _paint(out, edge, rng.uniform(0.9, 1.0), rng.uniform(0.5, 0.9))
        _paint(out, core, _damage_value(rng, bright_p=0.25), rng.uniform(0.8, 1.0))
        mask |= core | edge
    return _clip(out), mask
