"""``python -m autocolor``: the ``autocolor`` command, which ``torchrun -m autocolor train``
needs (torchrun starts modules, not console scripts)."""

import sys

from autocolor.cli import main

if __name__ == "__main__":
    sys.exit(main())
