"""seed-vgg19: torchvision's vgg19().features layout, loading its state dict, shapes, errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from autocolor.models import create_model
from autocolor.models.vgg19 import SeedVGG19, load_torchvision_vgg19_features

# torchvision.models.vgg19().features.state_dict(), written out by hand (names and shapes), so
# a torchvision ImageNet file (vgg19-dcbb9e9d.pth) loads with its "features.*" keys unchanged.
TORCHVISION_VGG19_FEATURES = {
    "features.0.weight": (64, 3, 3, 3), "features.0.bias": (64,),
    "features.2.weight": (64, 64, 3, 3), "features.2.bias": (64,),
    "features.5.weight": (128, 64, 3, 3), "features.5.bias": (128,),
    "features.7.weight": (128, 128, 3, 3), "features.7.bias": (128,),
    "features.10.weight": (256, 128, 3, 3), "features.10.bias": (256,),
    "features.12.weight": (256, 256, 3, 3), "features.12.bias": (256,),
    "features.14.weight": (256, 256, 3, 3), "features.14.bias": (256,),
    "features.16.weight": (256, 256, 3, 3), "features.16.bias": (256,),
    "features.19.weight": (512, 256, 3, 3), "features.19.bias": (512,),
    "features.21.weight": (512, 512, 3, 3), "features.21.bias": (512,),
    "features.23.weight": (512, 512, 3, 3), "features.23.bias": (512,),
    "features.25.weight": (512, 512, 3, 3), "features.25.bias": (512,),
    "features.28.weight": (512, 512, 3, 3), "features.28.bias": (512,),
    "features.30.weight": (512, 512, 3, 3), "features.30.bias": (512,),
    "features.32.weight": (512, 512, 3, 3), "features.32.bias": (512,),
    "features.34.weight": (512, 512, 3, 3), "features.34.bias": (512,),
}
MAXPOOL_INDICES = (4, 9, 18, 27, 36)


@pytest.fixture(scope="module")
def model() -> SeedVGG19:
    torch.manual_seed(0)
    return create_model("seed-vgg19").eval()


@pytest.fixture(scope="module")
def torchvision_state() -> dict[str, torch.Tensor]:
    """A synthetic torchvision-style VGG19 state dict: features (seeded values) + classifier."""
    generator = torch.Generator().manual_seed(5)
    state = {key: torch.randn(shape, generator=generator) * 0.01
             for key, shape in TORCHVISION_VGG19_FEATURES.items()}
    state["classifier.0.weight"] = torch.randn(16, 8, generator=generator)
    state["classifier.0.bias"] = torch.zeros(16)
    state["classifier.6.weight"] = torch.randn(1000, 16, generator=generator)
    return state


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory: pytest.TempPathFactory, torchvision_state) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("vgg19")
    pth = folder / "vgg19-synthetic.pth"
    torch.save(torchvision_state, pth)
    safetensors = folder / "vgg19-synthetic.safetensors"
    save_file({k: v.contiguous() for k, v in torchvision_state.items()}, str(safetensors))
    return {"pth": pth, "safetensors": safetensors}


def test_features_layout_matches_torchvision(model: SeedVGG19) -> None:
    layout = {f"features.{key}": tuple(value.shape)
              for key, value in model.features.state_dict().items()}
    assert layout == TORCHVISION_VGG19_FEATURES
    assert list(layout) == list(TORCHVISION_VGG19_FEATURES)  # same order too
    assert len(model.features) == 37
    for index in MAXPOOL_INDICES:
        assert isinstance(model.features[index], nn.MaxPool2d)
    for index, layer in enumerate(model.features):
        if isinstance(layer, nn.Conv2d):
            assert layer.kernel_size == (3, 3) and layer.padding == (1, 1) and layer.stride == (1, 1)
            assert isinstance(model.features[index + 1], nn.ReLU)


def test_encoder_parameters_are_the_features(model: SeedVGG19) -> None:
    assert {id(p) for p in model.encoder_parameters()} == {id(p) for p in model.features.parameters()}


@pytest.mark.parametrize("height,width", [(64, 96), (32, 64)])
def test_output_shape_and_range(model: SeedVGG19, height: int, width: int) -> None:
    l_norm = torch.rand(2, 1, height, width, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        out = model(l_norm)
    assert out.shape == (2, 2, height, width)
    assert out.min() >= -1.0 and out.max() <= 1.0


@pytest.mark.parametrize("shape", [(1, 1, 64, 80), (1, 1, 50, 64)])
def test_sides_must_be_multiples_of_32(model: SeedVGG19, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.zeros(shape))


@pytest.mark.parametrize("kind", ["pth", "safetensors"])
def test_load_torchvision_state_dict(kind: str, weight_files, torchvision_state) -> None:
    model = SeedVGG19()
    decoder_before = model.output.weight.clone()
    load_torchvision_vgg19_features(model, weight_files[kind])
    for key, expected in TORCHVISION_VGG19_FEATURES.items():
        index, name = key.split(".")[1:]
        loaded = getattr(model.features[int(index)], name)
        assert loaded.shape == expected
        assert torch.equal(loaded, torchvision_state[key]), key
    assert torch.equal(model.output.weight, decoder_before)  # only the encoder is touched


def test_create_model_with_encoder_weights(weight_files, torchvision_state) -> None:
    model = create_model("seed-vgg19", encoder_weights=str(weight_files["safetensors"]))
    assert torch.equal(model.features[34].weight, torchvision_state["features.34.weight"])


def test_pretrained_without_a_file_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="--encoder-weights") as error:
        create_model("seed-vgg19", pretrained=True)
    assert "never downloads" in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "vgg19-dcbb9e9d.pth"
    with pytest.raises(FileNotFoundError, match="vgg19-dcbb9e9d.pth"):
        load_torchvision_vgg19_features(SeedVGG19(), missing)
    with pytest.raises(FileNotFoundError):
        create_model("seed-vgg19", encoder_weights=str(missing))


def test_file_without_features_keys(tmp_path: Path) -> None:
    path = tmp_path / "classifier-only.pth"
    torch.save({"classifier.0.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ValueError, match="features"):
        load_torchvision_vgg19_features(SeedVGG19(), path)


def test_wrong_shapes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "wrong.pth"
    state = {key: torch.zeros(shape) for key, shape in TORCHVISION_VGG19_FEATURES.items()}
    state["features.0.weight"] = torch.zeros(64, 1, 3, 3)  # a one-channel first layer
    torch.save(state, path)
    with pytest.raises(RuntimeError, match=r"0\.weight"):
        load_torchvision_vgg19_features(SeedVGG19(), path)


class _Sneaky:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_pth_is_loaded_without_unpickling_objects(tmp_path: Path) -> None:
    path = tmp_path / "sneaky.pth"
    with open(path, "wb") as handle:
        torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3), "extra": _Sneaky()}, handle)
    with pytest.raises(pickle.UnpicklingError):
        load_torchvision_vgg19_features(SeedVGG19(), path)
