#!/usr/bin/env bash
# Runs on a lent GPU machine (see the device tool): trains and scores the recipes within a
# budget and leaves weights, logs and grids in $OUT. Set-up of the machine: scripts/gpu_env.sh.
set -euo pipefail
BUDGET=${BUDGET:-5.5}
source scripts/gpu_env.sh
python3 -c "import torch, kornia; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
mkdir -p runs
python3 scripts/train_recipes.py --data data/corpus --out runs/recipes --budget-minutes "$BUDGET" \
    --workers "${WORKERS:-3}" "$@" 2>&1 | tee runs/train_recipes.log || true
python3 scripts/gpu_latency.py runs/recipes/default/final.safetensors \
    runs/recipes/seed/final.safetensors 2>&1 | tee -a runs/train_recipes.log || true
cd runs/recipes
cp recipes.json ../train_recipes.log "$OUT"/ || true
for r in */; do
  r=${r%/}; [ "$r" = calibrate ] && continue
  [ -f "$r/final.safetensors" ] && [ "$r" != seed ] && cp "$r/final.safetensors" "$OUT/$r.safetensors"
done
# Logs, configs, temperature sweeps and each run's last example grid.
# (the calibrate/ folder has no grids: without `|| true`, pipefail ended the script here before)
for r in */; do (ls "$r"grids/*.png 2>/dev/null || true) | sort | head -n -1 | xargs -r rm; done
tar czf "$OUT/runs.tgz" --exclude='*.safetensors' --exclude='checkpoint.pt' --exclude=calibrate .
ls -la "$OUT"
