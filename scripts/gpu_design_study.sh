#!/usr/bin/env bash
# Runs on a lent GPU machine (see the device tool): scripts/design_study.py with the variants
# given as arguments (default: the shipped design, `default`, against the first one,
# `default-s2`), 3 seeds each, all at once; the weights and logs land in $OUT (one file per run
# plus logs.tgz: the device tool brings back at most 8 files). Score them on the CPU with
# `autocolor eval` afterwards. Set-up of the machine: scripts/gpu_env.sh.
set -euo pipefail
source scripts/gpu_env.sh
export OMP_NUM_THREADS=2
if [ $# -eq 0 ]; then
  set -- --variant 'default={}' \
         --variant 'default-s2={"head_stride": 2, "decoder_channels": [160, 96, 64, 32, 16]}'
fi
python3 scripts/design_study.py --device cuda --max-minutes "${MAX_MINUTES:-4}" \
    --out runs/study --pack "$OUT" "$@"
ls -la "$OUT"
