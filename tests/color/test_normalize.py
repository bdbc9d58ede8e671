"""autocolor.color.normalize: the models' L and ab normalization, torch without kornia."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from autocolor.color.constants import AB_SCALE, L_SCALE, L_SHIFT
from autocolor.color.normalize import denormalize_ab, denormalize_l, normalize_ab, normalize_l


def test_normalization_constants_and_values() -> None:
    assert (L_SCALE, L_SHIFT, AB_SCALE) == (50.0, 1.0, 128.0)
    lightness = torch.tensor([0.0, 50.0, 100.0]).view(1, 1, 1, 3)
    torch.testing.assert_close(normalize_l(lightness), torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3))
    ab = torch.tensor([[-128.0, 64.0], [0.0, 128.0]]).view(1, 2, 1, 2)
    torch.testing.assert_close(normalize_ab(ab), ab / 128.0)


def test_normalize_denormalize_round_trip() -> None:
    generator = torch.Generator().manual_seed(7)
    lightness = torch.rand(2, 1, 5, 6, generator=generator) * 100
    ab = torch.rand(2, 2, 5, 6, generator=generator) * 220 - 110
    torch.testing.assert_close(denormalize_l(normalize_l(lightness)), lightness)
    torch.testing.assert_close(denormalize_ab(normalize_ab(ab)), ab)
    l_norm = normalize_l(lightness)
    assert l_norm.min() >= -1.0 and l_norm.max() <= 1.0


@pytest.mark.parametrize("function,channels", [(normalize_l, 1), (denormalize_l, 1),
                                               (normalize_ab, 2), (denormalize_ab, 2)])
def test_normalize_checks_channels(function, channels: int) -> None:
    function(torch.zeros(1, channels, 2, 2))
    with pytest.raises(ValueError):
        function(torch.zeros(1, 3, 2, 2))
    with pytest.raises(TypeError):
        function(torch.zeros(1, channels, 2, 2, dtype=torch.int64))


def test_lab_reexports_the_same_functions() -> None:
    from autocolor.color import lab

    assert (lab.normalize_l, lab.denormalize_l, lab.normalize_ab, lab.denormalize_ab) == (
        normalize_l, denormalize_l, normalize_ab, denormalize_ab)


def test_models_need_torch_but_not_kornia() -> None:
    """Running a model (torch backend, export) must not need the training-only kornia."""
    code = ("import sys; import autocolor.models, autocolor.weights, autocolor.infer.backends; "
            "from autocolor.models import create_model; create_model('lite0-unet'); "
            "sys.exit(3 if 'kornia' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
