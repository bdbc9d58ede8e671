"""EfficientNet-Lite0: the ImageNet weights load strictly and recognise photos.

The classification check is what proves the architecture, the key names, the TF 'SAME' padding
and the input normalization all match the weights: a wrong one gives a wrong top class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F
from PIL import Image

from autocolor.models.efficientnet_lite import (
    FEATURE_CHANNELS,
    LITE0_MEAN,
    LITE0_STD,
    EfficientNetLite0,
    SameConv2d,
    imagenet_weights_path,
    load_imagenet_weights,
)

IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO, CUP = 967, 968


@pytest.fixture(scope="module")
def imagenet_state() -> dict[str, torch.Tensor]:
    return torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def classifier() -> EfficientNetLite0:
    model = EfficientNetLite0(num_classes=1000)
    load_imagenet_weights(model)
    return model.eval()


def classify(model: EfficientNetLite0, photo: np.ndarray) -> int:
    resized = Image.fromarray(photo).resize((224, 224), Image.Resampling.BILINEAR)
    x = torch.from_numpy(np.asarray(resized, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    mean = torch.tensor(LITE0_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(LITE0_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = model((x - mean) / std)
    assert logits.shape == (1, 1000)
    return int(logits.argmax())


def test_weights_file_is_shipped() -> None:
    path = imagenet_weights_path()
    assert path.is_file() and path.suffix == ".pth"


def test_state_dict_keys_and_shapes_match_the_weights(imagenet_state) -> None:
    model_state = EfficientNetLite0(num_classes=1000).state_dict()
    assert set(model_state) == set(imagenet_state)
    for key, value in model_state.items():
        assert value.shape == imagenet_state[key].shape, key
    assert imagenet_state["_fc.weight"].shape == (1000, 1280)


def test_load_strict_with_classifier(classifier: EfficientNetLite0, imagenet_state) -> None:
    for key, value in classifier.state_dict().items():
        assert torch.equal(value, imagenet_state[key]), key


def test_load_without_classifier_drops_only_the_classifier(imagenet_state) -> None:
    model = EfficientNetLite0(num_classes=None)
    load_imagenet_weights(model)
    state = model.state_dict()
    assert set(state) == {key for key in imagenet_state if not key.startswith("_fc.")}
    assert {key for key in imagenet_state if key.startswith("_fc.")} == {"_fc.weight", "_fc.bias"}
    for key, value in state.items():
        assert torch.equal(value, imagenet_state[key]), key
    with pytest.raises(RuntimeError, match="without a classifier"):
        model(torch.zeros(1, 3, 32, 32))


def test_load_is_strict(tmp_path: Path, imagenet_state) -> None:
    broken = dict(imagenet_state)
    del broken["_blocks.3._bn1.running_var"]
    path = tmp_path / "broken.pth"
    torch.save(broken, path)
    with pytest.raises(RuntimeError, match="running_var"):
        load_imagenet_weights(EfficientNetLite0(), path)


def test_features_pyramid_shapes() -> None:
    model = EfficientNetLite0(num_classes=None).eval()
    with torch.no_grad():
        features = model.features(torch.zeros(2, 3, 64, 96))
    assert [tuple(f.shape) for f in features] == [
        (2, channels, 64 // stride, 96 // stride)
        for channels, stride in zip(FEATURE_CHANNELS, (2, 4, 8, 16, 32), strict=True)
    ]


@pytest.mark.parametrize("kernel,stride,pad", [(3, 2, (0, 1)), (5, 2, (1, 2)), (3, 1, (1, 1)),
                                               (5, 1, (2, 2))])
def test_same_padding_matches_tensorflow(kernel: int, stride: int, pad: tuple[int, int]) -> None:
    """TF 'SAME' on an even side: total k - s padding, the odd pixel at the end."""
    conv = SameConv2d(2, 3, kernel, stride=stride)
    x = torch.randn(1, 2, 16, 12, generator=torch.Generator().manual_seed(0))
    expected = F.conv2d(F.pad(x, (pad[0], pad[1], pad[0], pad[1])), conv.weight, stride=stride)
    torch.testing.assert_close(conv(x), expected)
    assert conv(x).shape[-2:] == (16 // stride, 12 // stride)


def test_recognises_a_cat(classifier: EfficientNetLite0) -> None:
    assert classify(classifier, skimage.data.chelsea()) in IMAGENET_CATS


def test_recognises_coffee(classifier: EfficientNetLite0) -> None:
    assert classify(classifier, skimage.data.coffee()) in (ESPRESSO, CUP)

