"""The report's pictures: a-b histograms (2D log-density of a-b, accumulated photo by photo)
and grid thumbnails (gray | ours | original). NumPy and Pillow only."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from autocolor.color.lab_numpy import lab_to_rgb

GRID_LABELS: tuple[str, str, str] = ("gray", "ours", "original")

_BACKGROUND = np.array([20.0, 20.0, 20.0])
_AXIS = (90, 90, 90)
_TEXT = (235, 235, 235)


class AbHistogram:
    """2D histogram of a (columns) and b (rows) with 1-unit bins over [-limit, limit).

    Each image contributes its pixel shares (counts / pixels), so every photo weighs the same
    whatever its size. Values outside the range land in the edge bins.
    """

    def __init__(self, limit: int = 128) -> None:
        self.limit = int(limit)
        self.density = np.zeros((2 * self.limit, 2 * self.limit), dtype=np.float64)
        self.images = 0

    def add(self, lab_or_ab: np.ndarray) -> None:
        values = np.asarray(lab_or_ab)
        if values.shape[-1] not in (2, 3):
            raise ValueError(f"expected (..., 3) Lab or (..., 2) ab, got {values.shape}")
        a = values[..., -2].ravel()
        b = values[..., -1].ravel()
        if a.size == 0:
            return
        size = 2 * self.limit
        column = np.clip(np.floor(a).astype(np.int64) + self.limit, 0, size - 1)
        row = np.clip(np.floor(b).astype(np.int64) + self.limit, 0, size - 1)
        counts = np.bincount(row * size + column, minlength=size * size)
        self.density += counts.reshape(size, size) / a.size
        self.images += 1

    def normalized(self) -> np.ndarray:
        """Mean pixel share per bin over the images added (sums to 1 when any were added)."""
        return self.density / max(self.images, 1)


def _bin_colours(limit: int, lightness: float = 65.0) -> np.ndarray:
    """sRGB colour (float, 0..255) of every (b row, a column) bin centre, for drawing."""
    centres = np.arange(-limit, limit, dtype=np.float32) + 0.5
    a, b = np.meshgrid(centres, centres)
    lab = np.stack([np.full_like(a, lightness), a, b], axis=-1)
    return lab_to_rgb(lab).astype(np.float64) * 255.0


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1 has no size argument
        return ImageFont.load_default()


def render_ab_histograms(
    panels: list[tuple[str, AbHistogram]], scale: int = 2, decades: float = 4.0
) -> Image.Image:
    """Side-by-side log-density images of a-b histograms sharing one colour scale.

    Each bin is drawn in its own hue (Lab colour at L = 65) over a dark background, with an
    intensity of ``1 + log10(density / max_density) / decades`` clipped to [0, 1]: the densest
    bin of all panels is full colour, densities ``decades`` orders of magnitude lower fade out.
    +a points right, +b points up; axes cross at a = b = 0, ticks every 50 units.
    """
    if not panels:
        raise ValueError("no histograms to draw")
    limit = panels[0][1].limit
    if any(hist.limit != limit for _, hist in panels):
        raise ValueError("histograms must share one range")
    densities = [hist.normalized() for _, hist in panels]
    peak = max(float(d.max()) for d in densities)
    colours = _bin_colours(limit)
    size = 2 * limit * scale
    header, margin = 24, 8
    font = _font()
    canvas = Image.new(
        "RGB", (len(panels) * (size + margin) + margin, size + header + margin), (0, 0, 0)
    )
    draw = ImageDraw.Draw(canvas)
    for index, ((title, _), density) in enumerate(zip(panels, densities, strict=True)):
        with np.errstate(divide="ignore"):
            level = 1.0 + np.log10(density / peak) / decades if peak > 0 else density * 0.0
        level = np.where(density > 0, np.clip(level, 0.0, 1.0), 0.0)[..., None]
        pixels = _BACKGROUND + level * (colours - _BACKGROUND)
        pixels = np.flipud(pixels)  # row 0 at the top is the largest b
        panel = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")
        panel = panel.resize((size, size), Image.Resampling.NEAREST)
        left = margin + index * (size + margin)
        canvas.paste(panel, (left, header))
        centre_x, centre_y = left + size // 2, header + size // 2
        draw.line([(left, centre_y), (left + size - 1, centre_y)], fill=_AXIS)
        draw.line([(centre_x, header), (centre_x, header + size - 1)], fill=_AXIS)
        for tick in range(-limit + limit % 50, limit, 50):
            if tick == 0:
                continue
            offset = tick * scale
            draw.line(
                [(centre_x + offset, centre_y - 3), (centre_x + offset, centre_y + 3)], fill=_AXIS
            )
            draw.line(
                [(centre_x - 3, centre_y - offset), (centre_x + 3, centre_y - offset)], fill=_AXIS
            )
        draw.text((left + size - 22, centre_y + 4), "+a", fill=_TEXT, font=font)
        draw.text((centre_x + 5, header + 2), "+b", fill=_TEXT, font=font)
        draw.text((left + 2, 4), title, fill=_TEXT, font=font)
    return canvas


# ---------------------------------------------------------------------------------------------
# grid thumbnails


def _thumbnail(rgb: np.ndarray, height: int) -> Image.Image:
    image = Image.fromarray(rgb, "RGB")
    if image.height > height:
        width = max(1, round(image.width * height / image.height))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image


def make_grid(
    gray_rgb: np.ndarray,
    ours_rgb: np.ndarray,
    original_rgb: np.ndarray,
    height: int = 256,
    labels: tuple[str, str, str] = GRID_LABELS,
) -> Image.Image:
    """One strip gray | ours | original, each downscaled to ``height`` (never upscaled)."""
    tiles = [_thumbnail(image, height) for image in (gray_rgb, ours_rgb, original_rgb)]
    gap, header = 4, 20
    width = sum(tile.width for tile in tiles) + gap * (len(tiles) - 1)
    canvas = Image.new("RGB", (width, tiles[0].height + header), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font()
    left = 0
    for tile, label in zip(tiles, labels, strict=True):
        canvas.paste(tile, (left, header))
        draw.text((left + 3, 2), label, fill=(0, 0, 0), font=font)
        left += tile.width + gap
    return canvas
