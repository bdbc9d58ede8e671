"""How data/sources/photos.tsv was made: the team's vetted list of real colour photos
(../shared/corpus/debian-photos.tsv, keep = yes), plus the wallpaper and library photos of the
first corpus, with each package's licence from its debian/copyright (summarised in
../shared/corpus/debian-photos.md) and the rotations from kphotoalbum's demo/index.xml.

Run once by hand; the build (``autocolor data build-corpus``) reads only data/sources/.

    python scripts/import_debian_photos.py ../shared/corpus/debian-photos.tsv \
        --previous data/sources/photos.tsv --out data/sources/photos.tsv
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

# Licence of the photos of each package, from its debian/copyright (debian-photos.md's table).
PACKAGE_LICENSES = {
    "gcompris-qt-data": "GPL-3+",
    "kphotoalbum": "GPL-2+",
    "tuxpaint-data": "GPL-2+",
    "gimp-help-en": "GFDL (upstream gimp-help; not stated in this package)",
    "lxqt-themes": "LGPL-2.1+",
    "labelme-examples": "GPL-3+ (2011_* photos: PASCAL VOC 2011 / Flickr)",
    "forensics-samples-files": "CC-BY-SA-4.0",
    "scribus-template": "public domain (br2, cal2, menu1, menu2); GPL-2+ (scribus_project_de)",
    "palapeli-data": "GPL-2+",
    "libjxl-testdata": "CC0 (wesaturate); BSD-3-clause (flower, hdr_room)",
    "qtbase5-examples": "BSD-3-clause",
    "qtdeclarative5-examples": "BSD-3-clause",
    "kodi-data": "CC0-1.0 (estuary); CC-BY-SA-3.0 (estouchy)",
    "hugin-data": "GPL-2+",
    "imagemagick-6-doc": "ImageMagick licence",
    "qtmultimedia5-examples": "BSD-3-clause",
    "digikam-data": "GPL",
    "sddm-theme-maldives": "CC-BY-SA-3.0",
    "stellarium-data": "GPL-2+",
    "darktable": "GPL-3+",
    "libreoffice-common": "MPL-2.0",
}
# kphotoalbum's demo/index.xml rotates these (degrees clockwise, as KPhotoAlbum shows them).
ROTATIONS = {
    "usr/share/kphotoalbum/demo/new_wave_1.jpg": 90,
    "usr/share/kphotoalbum/demo/wayne.jpg": 90,
    "usr/share/kphotoalbum/demo/pool_2.jpg": 270,
    "usr/share/kphotoalbum/demo/grand_canyon_1.jpg": 180,
}
# Photos of one scene or one shoot, judged by eye on a contact sheet: they must share a split, or
# a validation photo would be a near-copy of a training photo. gcompris ships several monuments
# twice (categorization and explore_monuments, the same photo at two sizes); kphotoalbum's demo
# holds series of one evening; forensics-samples' folders are one owner's phone photos.
GROUPS = {
    r"gcompris.*/(monuments/victoriaMemorial|india/victoriaMemorial)\.webp": "victoria-memorial",
    r"gcompris.*/(monuments/statueOfLiberty|usa/statueofLiberty)\.webp": "statue-of-liberty",
    r"gcompris.*/(monuments/kutubMinar|india/qutubMinar)\.webp": "qutub-minar",
    r"gcompris.*/christTheRedeemer\.webp": "christ-the-redeemer",
    r"gcompris.*/tajMahal\.webp": "taj-mahal",
    r"gcompris.*/mountRushmore\.webp": "mount-rushmore",
    r"gcompris.*/colosseum\.webp": "colosseum",
    r"gcompris.*/greatWall(ofChina)?\.webp": "great-wall",
    r"gcompris.*/greatPyramid(OfGiza)?\.webp": "great-pyramid",
    r"gcompris.*/brandenburgGate\.webp": "brandenburg-gate",
    r"kphotoalbum.*/demo/(bar55|bar55_2)\.jpg": "kpa-bar",
    r"kphotoalbum.*/demo/donna(_2)?\.jpg": "kpa-donna",
    r"kphotoalbum.*/demo/grand_canyon_\d\.jpg": "kpa-grand-canyon",
    r"kphotoalbum.*/demo/jesper(_2)?\.jpg": "kpa-jesper",
    r"kphotoalbum.*/demo/new_wave_\d\.jpg": "kpa-new-wave",
    r"kphotoalbum.*/demo/pool(_2)?\.jpg": "kpa-pool",
    r"kphotoalbum.*/demo/skagen(_2)?\.jpg": "kpa-skagen",
    r"kphotoalbum.*/demo/spiff(_2)?\.jpg": "kpa-spiff",
    r"forensics-samples-files.*/pic1/": "forensics-pic1",
    r"forensics-samples-files.*/pic2/": "forensics-pic2",
}
FIELDS = ("storage", "package", "version", "member", "sha256", "license", "rotation", "subject",
          "group", "width", "height")


def group_of(package: str, member: str) -> str:
    name = f"{package}:{member}"
    return next((group for pattern, group in GROUPS.items() if re.search(pattern, name)), "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vetted", type=Path)
    parser.add_argument("--previous", type=Path, help="keep its wallpaper and library rows")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = []
    if args.previous and args.previous.is_file():
        with open(args.previous, encoding="utf-8", newline="") as handle:
            rows += [{key: r.get(key, "") for key in FIELDS}
                     for r in csv.DictReader(handle, delimiter="\t")
                     if r["package"] not in PACKAGE_LICENSES]
    with open(args.vetted, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["keep"] != "yes":
                continue
            rows.append({
                "storage": "rcc" if "#" in row["member"] else "deb",
                "package": row["package"], "version": row["version"], "member": row["member"],
                "sha256": row["sha256"], "license": PACKAGE_LICENSES[row["package"]],
                "rotation": ROTATIONS.get(row["member"], 0), "subject": row["kind"],
                "width": row["width"], "height": row["height"],
            })
    for row in rows:
        row["group"] = group_of(row["package"], row["member"])
    rows.sort(key=lambda r: (r["package"], r["member"]))
    with open(args.out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} photos -> {args.out}")


if __name__ == "__main__":
    main()
