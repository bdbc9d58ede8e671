"""The real black-and-white photos of the README's restoration figure, written as 8-bit gray
PNGs: ``data/sources/bw-photos.tsv`` (photos found offline that the corpus leaves out as black
and white, and scikit-image's gray sample), fetched and sha256-checked as the corpus is
(:class:`autocolor.data.fetch.Fetcher`: the Debian packages already in ``data/debs`` from
``make corpus``, else downloaded with apt-get).

    python scripts/bw_photos.py --out runs/oldphotos
    python scripts/restore_figure.py --real runs/oldphotos/*.png --split val
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

from autocolor.data.fetch import Fetcher, FetchError
from autocolor.data.sources import read_sources

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=ROOT / "data/sources/bw-photos.tsv")
    parser.add_argument("--debs", type=Path, default=ROOT / "data/debs")
    parser.add_argument("--out", type=Path, default=ROOT / "runs/oldphotos")
    args = parser.parse_args(argv)
    fetcher = Fetcher(args.debs)
    args.out.mkdir(parents=True, exist_ok=True)
    for index, source in enumerate(read_sources(args.sources), start=1):
        try:
            data = fetcher.fetch(source)
        except FetchError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        stem = Path(source.member.split(":")[-1]).stem
        target = args.out / f"{index}-{stem}.png"
        with Image.open(io.BytesIO(data)) as image:
            image.convert("L").save(target)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
