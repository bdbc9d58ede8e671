"""Measure what hints and reference transfer gain over the automatic colour (docs/hints.md).

On colour photos: take the lightness, get the automatic colour from a pluggable prior
(``(H, W) L -> (H, W, 2) ab``; gray by default), then

- hints: pick ``N`` random pixels of the original as hint points (their true colour), propagate,
  and compare PSNR (8-bit sRGB) and mean CIEDE2000 against the original with and without hints,
  plus the CIEDE2000 at the hinted pixels themselves;
- reference: colour the photo after a reference (its own colour original, or another photo of a
  similar scene) and compare the same metrics.

Scores are :mod:`autocolor.evaluate.metrics` (the definitions ``autocolor eval`` reports) of the
result joined as the inference path joins it (:func:`autocolor.images.lab_to_rgb_array`, 8-bit);
photos are read with :func:`autocolor.images.load_rgb`. Needs the ``eval`` extra (scikit-image).

Usage::

    python scripts/hint_measure.py --skimage astronaut coffee chelsea rocket --reference
    python scripts/hint_measure.py --photos DIR --predict mypackage.module:predict_ab

``--predict`` names a callable ``f(lightness (H, W) float32 [0, 100]) -> ab (H, W, 2)``, or
``model:NAME_OR_PATH`` for a trained model.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from autocolor.evaluate import metrics
from autocolor.hints.points import HintPoint, HintSet
from autocolor.hints.propagate import propagate_hints
from autocolor.hints.reference import transfer_reference
from autocolor.images import lab_to_rgb_array, load_rgb, shrink_rgb, srgb_from_pil

Prior = Callable[[np.ndarray], np.ndarray]
_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}


def gray_prior(lightness: np.ndarray) -> np.ndarray:
    """The prior of an untrained colorizer: ``ab = 0`` everywhere, ``(H, W, 2)`` float32."""
    return np.zeros((*lightness.shape, 2), dtype=np.float32)


def load_prior(spec: str | None) -> Prior:
    """``"package.module:callable"`` -> the callable; ``None`` or ``"gray"`` -> :func:`gray_prior`."""
    if spec is None or spec == "gray":
        return gray_prior
    if spec.startswith("model:"):  # a trained model as the prior, e.g. "model:default"
        from autocolor.infer.colorizer import Colorizer

        return Colorizer.from_pretrained(spec.removeprefix("model:")).colorize_lightness
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"--predict must look like 'package.module:callable', got {spec!r}")
    prior = getattr(importlib.import_module(module_name), attr)
    if not callable(prior):
        raise ValueError(f"{spec} is not callable")
    return prior


def load_photo(spec: str | Path, max_side: int = 0) -> np.ndarray:
    """``"skimage:NAME"`` or a path -> ``(H, W, 3)`` uint8 upright sRGB, long side <= max_side.

    ``max_side = 0`` keeps the full size. Shrinking keeps CIEDE2000 (float64 in scikit-image)
    affordable on camera-sized photos.
    """
    text = str(spec)
    side = max_side or None
    if not text.startswith("skimage:"):
        return load_rgb(text, max_side=side)
    import skimage.data

    name = text.split(":", 1)[1]
    loader = getattr(skimage.data, name, None)
    if not callable(loader):
        # Samples without a loader of their own (motorcycle_left/right of the stereo pair)
        # are plain files next to the module.
        matches = sorted(Path(skimage.data.__file__).parent.glob(f"{name}.*"))
        if not matches:
            raise ValueError(f"no scikit-image sample named {name!r}")
        return load_rgb(matches[0], max_side=side)
    image = srgb_from_pil(Image.fromarray(np.asarray(loader())))
    return np.asarray(shrink_rgb(image, side) if side else image, dtype=np.uint8)


def random_hints(
    rgb: np.ndarray, count: int, rng: np.random.Generator, radius: float = 0.0
) -> HintSet:
    """``count`` uniformly random pixels of ``rgb (H, W, 3) uint8`` as hints with their colour."""
    h, w = rgb.shape[:2]
    flat = rng.choice(h * w, size=min(count, h * w), replace=False)
    ys, xs = np.divmod(flat, w)
    return HintSet(
        tuple(
            HintPoint(x=float(x), y=float(y), rgb=tuple(int(v) for v in rgb[y, x]), radius=radius)
            for y, x in zip(ys, xs, strict=True)
        )
    )


def render(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Join L ``(H, W)`` and ab ``(H, W, 2)`` -> sRGB ``(H, W, 3)`` uint8, as a saved photo."""
    return lab_to_rgb_array(lightness.astype(np.float32), ab.astype(np.float32), bit_depth=8)


def lightness_of(original: np.ndarray) -> np.ndarray:
    """The Lab L ``(H, W)`` float32 of ``(H, W, 3)`` uint8 sRGB, as ``autocolor eval`` takes it."""
    return np.ascontiguousarray(metrics.rgb_to_lab_u8(original)[..., 0])


@dataclass(frozen=True)
class Score:
    """Quality of a colorization against the original: PSNR (dB, 8-bit sRGB) and mean
    CIEDE2000, both :mod:`autocolor.evaluate.metrics`."""

    psnr: float
    ciede2000: float
    per_pixel_de: np.ndarray  # (H, W) CIEDE2000, kept for looking up the hinted spots


def score(original: np.ndarray, lightness: np.ndarray, ab: np.ndarray) -> Score:
    """Compare the rendered ``(lightness, ab)`` with ``original (H, W, 3) uint8``."""
    result = render(lightness, ab)  # clipped to the sRGB gamut and rounded, as a saved photo
    de = metrics.ciede2000_map(metrics.rgb_to_lab_u8(original), metrics.rgb_to_lab_u8(result))
    return Score(psnr=metrics.psnr(original, result), ciede2000=float(de.mean()),
                 per_pixel_de=de)


@dataclass(frozen=True)
class HintRow:
    """One photo x hint count, averaged over trials."""

    photo: str
    hints: int
    psnr_prior: float
    psnr_hinted: float
    de_prior: float
    de_hinted: float
    spot_de_prior: float  # CIEDE2000 at the hinted pixels, automatic colour
    spot_de_hinted: float  # ... and after propagation
    seconds: float


def measure_hints(
    name: str,
    original: np.ndarray,
    counts: Sequence[int] = (5, 20, 100),
    *,
    prior: Prior = gray_prior,
    trials: int = 3,
    seed: int = 0,
    **propagate_kwargs: object,
) -> list[HintRow]:
    """Hinted vs unhinted quality on one photo for each hint count (mean over ``trials``).

    Args:
        name: label for the table.
        original: ``(H, W, 3)`` uint8 colour photo.
        counts: hint counts ``N``.
        prior: ``lightness -> ab_prior``.
        trials: random hint draws per count.
        seed: base seed; trial ``t`` of count ``n`` uses ``seed + 1000 * n + t``.
        propagate_kwargs: passed to :func:`propagate_hints` (e.g. ``reach``).
    """
    lightness = lightness_of(original)
    ab_prior = np.asarray(prior(lightness), dtype=np.float32)
    base = score(original, lightness, ab_prior)
    rows = []
    for count in counts:
        psnr, de, spot_prior, spot_hinted, seconds = [], [], [], [], []
        for trial in range(trials):
            rng = np.random.default_rng(seed + 1000 * count + trial)
            hints = random_hints(original, count, rng)
            start = time.perf_counter()
            ab = propagate_hints(lightness, ab_prior, hints, **propagate_kwargs)  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - start)
            result = score(original, lightness, ab)
            ys = np.array([round(p.y) for p in hints])
            xs = np.array([round(p.x) for p in hints])
            psnr.append(result.psnr)
            de.append(result.ciede2000)
            spot_prior.append(float(base.per_pixel_de[ys, xs].mean()))
            spot_hinted.append(float(result.per_pixel_de[ys, xs].mean()))
        rows.append(
            HintRow(
                photo=name,
                hints=count,
                psnr_prior=base.psnr,
                psnr_hinted=float(np.mean(psnr)),
                de_prior=base.ciede2000,
                de_hinted=float(np.mean(de)),
                spot_de_prior=float(np.mean(spot_prior)),
                spot_de_hinted=float(np.mean(spot_hinted)),
                seconds=float(np.mean(seconds)),
            )
        )
    return rows


@dataclass(frozen=True)
class ReferenceRow:
    """Reference transfer on one photo."""

    photo: str
    reference: str
    psnr_prior: float
    psnr_transfer: float
    de_prior: float
    de_transfer: float
    seconds: float


def measure_reference(
    name: str,
    original: np.ndarray,
    reference_name: str,
    reference: np.ndarray,
    *,
    prior: Prior = gray_prior,
    **transfer_kwargs: object,
) -> ReferenceRow:
    """Quality of :func:`transfer_reference` against the prior alone on one photo."""
    lightness = lightness_of(original)
    ab_prior = np.asarray(prior(lightness), dtype=np.float32)
    base = score(original, lightness, ab_prior)
    start = time.perf_counter()
    ab = transfer_reference(lightness, ab_prior, reference, **transfer_kwargs)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    result = score(original, lightness, ab)
    return ReferenceRow(
        photo=name,
        reference=reference_name,
        psnr_prior=base.psnr,
        psnr_transfer=result.psnr,
        de_prior=base.ciede2000,
        de_transfer=result.ciede2000,
        seconds=seconds,
    )


def time_large(
    photo: np.ndarray,
    size: tuple[int, int] = (4000, 3000),
    *,
    prior: Prior = gray_prior,
    hints: int = 20,
    repeats: int = 3,
) -> dict[str, float]:
    """Best-of-``repeats`` seconds of both operations on ``photo`` upscaled to ``size = (W, H)``.

    Only the hint/reference call is timed (not the prior or the upscaling), i.e. what the
    colorizer adds on top of the automatic colour on a 12-megapixel photo.
    """
    big = np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.BICUBIC))
    lightness = lightness_of(big)
    ab_prior = np.asarray(prior(lightness), dtype=np.float32)
    hint_set = random_hints(big, hints, np.random.default_rng(0), radius=8.0)
    timings: dict[str, float] = {}
    for label, run in (
        (
            f"propagate_hints ({hints} hints)",
            lambda: propagate_hints(lightness, ab_prior, hint_set),
        ),
        ("transfer_reference", lambda: transfer_reference(lightness, ab_prior, photo)),
    ):
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        timings[label] = best
    return timings


def format_timing(timings: dict[str, float], size: tuple[int, int] = (4000, 3000)) -> str:
    """Markdown table of :func:`time_large` results."""
    lines = [f"| operation on {size[0]}x{size[1]} | seconds |", "| --- | ---: |"]
    lines += [f"| {label} | {seconds:.2f} |" for label, seconds in timings.items()]
    return "\n".join(lines)


def format_hint_table(rows: Sequence[HintRow]) -> str:
    """Markdown table of hint rows plus a per-count mean row."""
    lines = [
        "| photo | hints | PSNR prior | PSNR hinted | gain dB | CIEDE2000 prior | CIEDE2000 hinted "
        "| change | spot dE prior | spot dE hinted | s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def line(r: HintRow) -> str:
        return (
            f"| {r.photo} | {r.hints} | {r.psnr_prior:.2f} | {r.psnr_hinted:.2f} "
            f"| {r.psnr_hinted - r.psnr_prior:+.2f} | {r.de_prior:.2f} | {r.de_hinted:.2f} "
            f"| {r.de_hinted - r.de_prior:+.2f} | {r.spot_de_prior:.2f} | {r.spot_de_hinted:.2f} "
            f"| {r.seconds:.2f} |"
        )

    lines += [line(r) for r in rows]
    for count in sorted({r.hints for r in rows}):
        group = [r for r in rows if r.hints == count]
        mean = HintRow(
            photo="**mean**",
            hints=count,
            **{
                field: float(np.mean([getattr(r, field) for r in group]))
                for field in (
                    "psnr_prior",
                    "psnr_hinted",
                    "de_prior",
                    "de_hinted",
                    "spot_de_prior",
                    "spot_de_hinted",
                    "seconds",
                )
            },
        )
        lines.append(line(mean))
    return "\n".join(lines)


def format_reference_table(rows: Sequence[ReferenceRow]) -> str:
    """Markdown table of reference-transfer rows."""
    lines = [
        "| photo | reference | PSNR prior | PSNR transfer | CIEDE2000 prior | CIEDE2000 transfer "
        "| change | s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.photo} | {r.reference} | {r.psnr_prior:.2f} | {r.psnr_transfer:.2f} "
            f"| {r.de_prior:.2f} | {r.de_transfer:.2f} | {r.de_transfer - r.de_prior:+.2f} "
            f"| {r.seconds:.2f} |"
        )
    return "\n".join(lines)


def _photo_specs(args: argparse.Namespace) -> list[str]:
    specs = [f"skimage:{name}" for name in args.skimage or []]
    if args.photos:
        folder = Path(args.photos)
        if not folder.is_dir():
            raise SystemExit(f"--photos: not a directory: {folder}")
        specs += sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in _PHOTO_SUFFIXES)
    if not specs:
        raise SystemExit("no photos: pass --photos DIR and/or --skimage NAME ...")
    return specs


def _label(spec: str) -> str:
    return spec.split(":", 1)[1] if spec.startswith("skimage:") else Path(spec).name


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; prints Markdown tables."""
    parser = argparse.ArgumentParser(prog="python scripts/hint_measure.py", description=__doc__)
    parser.add_argument("--photos", help="folder of colour photos")
    parser.add_argument("--skimage", nargs="*", help="scikit-image sample names (astronaut ...)")
    parser.add_argument("--predict", help="prior 'package.module:callable' or 'model:NAME_OR_PATH'"
                        " (default: gray)")
    parser.add_argument("--counts", type=int, nargs="+", default=[5, 20, 100])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-side", type=int, default=1024, help="shrink photos (0 = keep)")
    parser.add_argument("--reach", type=float, default=None, help="propagate_hints reach")
    parser.add_argument(
        "--work-side", type=int, default=None, help="propagate_hints max_side (working grid)"
    )
    parser.add_argument(
        "--half-reference",
        action="store_true",
        help="also colour each photo's left half after its right half (a similar scene)",
    )
    parser.add_argument(
        "--timing", action="store_true", help="also time both on a 4000x3000 upscaled photo"
    )
    parser.add_argument(
        "--reference", action="store_true", help="also measure transfer from the own original"
    )
    parser.add_argument(
        "--pair",
        nargs=2,
        action="append",
        default=[],
        metavar=("TARGET", "REFERENCE"),
        help="also measure transfer from REFERENCE to TARGET (paths or skimage:NAME)",
    )
    args = parser.parse_args(argv)
    prior = load_prior(args.predict)
    kwargs: dict[str, object] = {}
    if args.reach is not None:
        kwargs["reach"] = args.reach
    if args.work_side is not None:
        kwargs["max_side"] = args.work_side
    specs = _photo_specs(args)
    hint_rows: list[HintRow] = []
    ref_rows: list[ReferenceRow] = []
    for spec in specs:
        photo = load_photo(spec, args.max_side)
        hint_rows += measure_hints(
            _label(spec),
            photo,
            args.counts,
            prior=prior,
            trials=args.trials,
            seed=args.seed,
            **kwargs,
        )
        if args.half_reference:
            half = photo.shape[1] // 2
            ref_rows.append(
                measure_reference(
                    f"{_label(spec)} (left half)",
                    np.ascontiguousarray(photo[:, :half]),
                    "right half",
                    np.ascontiguousarray(photo[:, half:]),
                    prior=prior,
                )
            )
        if args.reference:
            ref_rows.append(
                measure_reference(_label(spec), photo, "own original", photo, prior=prior)
            )
    for target_spec, ref_spec in args.pair:
        ref_rows.append(
            measure_reference(
                _label(target_spec),
                load_photo(target_spec, args.max_side),
                _label(ref_spec),
                load_photo(ref_spec, args.max_side),
                prior=prior,
            )
        )
    print(format_hint_table(hint_rows))
    if ref_rows:
        print()
        print(format_reference_table(ref_rows))
    if args.timing:
        print()
        print(format_timing(time_large(load_photo(specs[0]), prior=prior)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
