"""lite0-unet: shapes, input checks, output range, both heads, and the bins encoding/decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autocolor.models import create_model
from autocolor.models.efficientnet_lite import imagenet_weights_path
from autocolor.models.heads import (
    AB_BIN_LIMIT,
    AB_BIN_STEP,
    BinsHead,
    RegressionHead,
    ab_bin_centers,
    soft_encode_ab,
)
from autocolor.models.unet import AbRefine, Lite0UNet, upsample2

Q = 23 * 23


@pytest.fixture(scope="module", params=["bins", "regression"])
def model(request: pytest.FixtureRequest) -> Lite0UNet:
    torch.manual_seed(0)
    return create_model("lite0-unet", head=request.param).eval()


def random_l_norm(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("height,width", [(64, 96), (96, 32)])
def test_output_shape(model: Lite0UNet, height: int, width: int) -> None:
    with torch.no_grad():
        out = model(random_l_norm(2, 1, height, width))
    assert out.shape == (2, 2, height, width)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("shape", [(1, 1, 64, 80), (1, 1, 70, 64), (1, 1, 48, 48)])
def test_sides_must_be_multiples_of_32(model: Lite0UNet, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.zeros(shape))


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (1, 64, 64), (64, 64)])
def test_input_must_be_b1hw(model: Lite0UNet, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"\(B,1,H,W\)"):
        model(torch.zeros(shape))


def test_regression_output_within_tanh_range() -> None:
    torch.manual_seed(1)
    model = create_model("lite0-unet", head="regression").eval()
    with torch.no_grad():
        model.head.conv.weight.mul_(1000.0)  # drive tanh into saturation
        out = model(random_l_norm(1, 1, 64, 64))
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert out.abs().max() > 0.99  # saturated, so the bound above is what held it


def test_bins_output_within_bin_grid() -> None:
    torch.manual_seed(2)
    # Training mode: BatchNorm then normalizes the random-init activations (in eval mode they
    # shrink layer after layer, and the head would see near-zero features).
    model = create_model("lite0-unet", head="bins").train()
    with torch.no_grad():
        model.head.conv.weight.mul_(1000.0)  # near one-hot bin choices
        out = model(random_l_norm(1, 1, 64, 64))
    assert out.abs().max() <= AB_BIN_LIMIT / 128.0 + 1e-6
    assert out.abs().max() > 0.3


def test_heads() -> None:
    bins = Lite0UNet(head="bins")
    regression = Lite0UNet(head="regression")
    assert isinstance(bins.head, BinsHead) and isinstance(regression.head, RegressionHead)
    with pytest.raises(ValueError, match="head must be"):
        Lite0UNet(head="softmax")
    with torch.no_grad():
        assert bins.eval().logits(random_l_norm(1, 1, 64, 96)).shape == (1, Q, 16, 24)
    with pytest.raises(RuntimeError, match="bins"):
        regression.logits(random_l_norm(1, 1, 64, 64))


def test_temperature_is_saved_and_centres_are_not() -> None:
    state = create_model("lite0-unet", head="bins", temperature=0.42).state_dict()
    assert float(state["decoders.0.head.temperature"]) == pytest.approx(0.42)
    assert not any(key.endswith("centers") for key in state)
    assert "decoders.0.head.temperature" not in create_model("lite0-unet", head="regression").state_dict()


def test_encoder_parameters_are_the_encoder() -> None:
    model = Lite0UNet()
    encoder = model.encoder_parameters()
    assert {id(p) for p in encoder} == {id(p) for p in model.encoder.parameters()}
    assert len(encoder) < len(list(model.parameters()))


def test_pretrained_loads_the_imagenet_encoder() -> None:
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    model = create_model("lite0-unet", pretrained=True)
    encoder_state = model.encoder.state_dict()
    assert set(encoder_state) == {key for key in state if not key.startswith("_fc.")}
    for key, value in encoder_state.items():
        assert torch.equal(value, state[key]), key
    fresh = create_model("lite0-unet", pretrained=False).encoder.state_dict()
    assert not torch.equal(fresh["_conv_stem.weight"], state["_conv_stem.weight"])


# -- the bins head ------------------------------------------------------------------------------

def test_bin_centres() -> None:
    centers = ab_bin_centers()
    assert centers.shape == (Q, 2)
    axis = torch.arange(-110.0, 110.5, 10.0) / 128.0
    torch.testing.assert_close(centers[:23, 1], axis)  # a-major: b varies fastest
    torch.testing.assert_close(centers[::23, 0], axis)
    assert (AB_BIN_LIMIT, AB_BIN_STEP) == (110.0, 10.0)


def test_soft_encode_weights_sum_to_one_and_are_unbiased() -> None:
    generator = torch.Generator().manual_seed(3)
    ab = (torch.rand(2, 2, 5, 7, generator=generator) * 2 - 1) * (105.0 / 128.0)
    ab[0, :, 0, 0] = torch.tensor([0.0, 0.0])  # exactly on a bin centre
    ab[0, :, 0, 1] = torch.tensor([-110.0, 110.0]) / 128.0  # a grid corner
    indices, weights = soft_encode_ab(ab)
    assert indices.shape == weights.shape == (2, 4, 5, 7)
    assert indices.dtype == torch.long and indices.min() >= 0 and indices.max() < Q
    assert weights.min() >= 0.0
    torch.testing.assert_close(weights.sum(1), torch.ones(2, 5, 7))
    centers = ab_bin_centers()  # (Q,2)
    decoded = (centers[indices] * weights[..., None]).sum(1).permute(0, 3, 1, 2)  # (B,2,H,W)
    torch.testing.assert_close(decoded, ab, atol=1e-5, rtol=0)


def test_soft_encode_clamps_outside_the_grid() -> None:
    ab = torch.tensor([0.99, -0.99]).view(1, 2, 1, 1)  # 126.7, beyond the last centre (110)
    indices, weights = soft_encode_ab(ab)
    decoded = (ab_bin_centers()[indices] * weights[..., None]).sum(1).flatten()
    torch.testing.assert_close(decoded, torch.tensor([110.0, -110.0]) / 128.0, atol=1e-4, rtol=0)


def test_decode_at_temperature_one_is_the_mean() -> None:
    """Logits = log of the soft encoding decode back to the encoded ab at T = 1."""
    head = BinsHead(8, temperature=1.0)
    ab = torch.tensor([[0.31, -0.42], [-0.05, 0.77]]).T.reshape(1, 2, 1, 2)
    indices, weights = soft_encode_ab(ab)
    probabilities = torch.zeros(1, Q, 1, 2).scatter_add_(1, indices, weights)
    decoded = head.decode(torch.log(probabilities + 1e-12))
    torch.testing.assert_close(decoded, ab, atol=1e-5, rtol=0)


def test_decode_at_low_temperature_approaches_argmax() -> None:
    head = BinsHead(8, temperature=1e-3)
    logits = torch.randn(2, Q, 3, 4, generator=torch.Generator().manual_seed(4)) * 3
    expected = ab_bin_centers()[logits.argmax(1)].permute(0, 3, 1, 2)  # (B,2,H,W)
    torch.testing.assert_close(head.decode(logits), expected, atol=1e-4, rtol=0)
    warm = BinsHead(8, temperature=1.0).decode(logits)
    assert (warm - expected).abs().max() > 0.05  # the temperature matters


def test_bins_head_forward_shape() -> None:
    head = BinsHead(8)
    assert head(torch.randn(2, 8, 4, 6)).shape == (2, 2, 4, 6)
    assert float(head.temperature) == 0.5


def test_ab_refine_starts_as_the_identity_and_can_learn() -> None:
    refine = AbRefine(skip_channels=16)
    ab = torch.rand(2, 2, 8, 12) * 2 - 1
    skip = torch.randn(2, 16, 8, 12)
    torch.testing.assert_close(refine(ab, skip), ab)  # zero-initialised correction
    refine(ab, skip).sum().backward()
    assert refine.correction.weight.grad.abs().sum() > 0  # the correction is trainable


def test_bins_outputs_strides_and_forward_agree() -> None:
    torch.manual_seed(3)
    model = create_model("lite0-unet", head="bins").eval()
    with torch.no_grad():
        model.decoders[0].refine.correction.weight.normal_(0, 0.1)  # a non-trivial refinement
        l_norm = random_l_norm(2, 1, 64, 96)
        logits, refined = model.bins_outputs(l_norm)
        assert logits.shape == (2, Q, 16, 24)  # stride 4
        assert refined.shape == (2, 2, 32, 48)  # stride 2
        full = model(l_norm)  # (2,2,64,96): the refined ab upsampled x2
        torch.testing.assert_close(full, upsample2(refined))


def test_refinement_loss_does_not_reach_the_bins_head() -> None:
    """The stride-2 L1 term sees the decoded bins detached: only cross-entropy shapes them."""
    from autocolor.train.config import TrainConfig
    from autocolor.train.loop import training_loss

    torch.manual_seed(4)
    model = create_model("lite0-unet", head="bins")
    l_norm = random_l_norm(2, 1, 64, 64)
    ab_norm = torch.rand(2, 2, 64, 64) - 0.5
    only_refine = TrainConfig(refine_loss_weight=1.0)

    def head_gradient(weight: float) -> torch.Tensor:
        model.zero_grad(set_to_none=False)
        training_loss(model, TrainConfig(refine_loss_weight=weight), l_norm, ab_norm,
                      None).backward()
        return model.head.conv.weight.grad.clone()

    torch.testing.assert_close(head_gradient(0.0), head_gradient(only_refine.refine_loss_weight))
    model.zero_grad(set_to_none=False)
    with torch.no_grad():
        model.decoders[0].refine.correction.weight.normal_(0, 0.1)
    training_loss(model, only_refine, l_norm, ab_norm, None).backward()
    assert model.decoders[0].refine.mix.weight.grad.abs().sum() > 0  # while the refinement does learn


def test_first_design_head_at_stride_2() -> None:
    """head_stride=2 with the wider decoder: the first design, kept as recipe default-s2."""
    from autocolor.models.unet import FIRST_DESIGN_CHANNELS
    from autocolor.train.config import RECIPES, TrainConfig
    from autocolor.train.loop import training_loss

    kwargs = RECIPES["default-s2"]["model_kwargs"]
    assert tuple(kwargs["decoder_channels"]) == FIRST_DESIGN_CHANNELS
    torch.manual_seed(5)
    model = create_model("lite0-unet", **kwargs)
    assert model.decoders[0].up2.conv2[0].out_channels == FIRST_DESIGN_CHANNELS[3]
    assert not hasattr(model, "refine")
    l_norm = random_l_norm(2, 1, 64, 96)
    logits, refined = model.bins_outputs(l_norm)
    assert logits.shape == (2, Q, 32, 48) and refined is None
    assert model.eval()(l_norm).shape == (2, 2, 64, 96)
    loss = training_loss(model.train(), TrainConfig(), l_norm, torch.zeros(2, 2, 64, 96), None)
    assert loss.item() > 0 and torch.isfinite(loss)
    with pytest.raises(ValueError, match="head_stride"):
        create_model("lite0-unet", head_stride=8)
    with pytest.raises(ValueError, match="5 widths"):
        create_model("lite0-unet", decoder_channels=(64, 32))


def test_stride_4_without_refinement() -> None:
    torch.manual_seed(6)
    model = create_model("lite0-unet", refine=False).eval()
    assert model.decoders[0].refine is None
    l_norm = random_l_norm(1, 1, 64, 96)
    with torch.no_grad():
        logits, refined = model.bins_outputs(l_norm)
        assert logits.shape == (1, Q, 16, 24) and refined is None
        coarse = model.head.decode(logits)  # (1,2,16,24)
        expected = torch.nn.functional.interpolate(coarse, scale_factor=4.0, mode="bilinear",
                                                   align_corners=False)
        torch.testing.assert_close(model(l_norm), expected)


def _entropy_confidence(logits: torch.Tensor) -> torch.Tensor:
    """1 - normalised entropy of softmax(logits) over dim 1, written out."""
    p = torch.softmax(logits.double(), dim=1)
    entropy = -(p * torch.log(p)).sum(1, keepdim=True)
    return 1 - entropy / np.log(logits.shape[1])


def test_gate_scales_chroma_by_confidence() -> None:
    from autocolor.models.heads import BinsHead

    torch.manual_seed(0)
    head = BinsHead(8, temperature=0.5).eval()
    # feature magnitude grows from 0 (flat distribution) to 1 (peaked) across the columns
    features = torch.randn(2, 8, 5, 6) * torch.linspace(0, 1, 6).view(1, 1, 1, 6)
    with torch.no_grad():
        head.conv.weight.mul_(20)  # a spread of confidences
        plain = head(features)
        head.set_gate((0.2, 0.6))
        gated = head(features)
        confidence = _entropy_confidence(head.logits(features))
    expected = ((confidence - 0.2) / 0.4).clamp(0, 1)
    torch.testing.assert_close(gated.double(), plain.double() * expected, atol=1e-5, rtol=1e-4)
    assert (expected == 0).any() and (expected == 1).any() and ((expected > 0) & (expected < 1)).any()
    # the export's channels-last path gives the same numbers
    head.prepare_for_export()
    with torch.no_grad():
        torch.testing.assert_close(head(features), gated, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError):
        head.set_gate((0.6, 0.2))


def test_gate_travels_in_kwargs_not_the_state_dict() -> None:
    model = create_model("lite0-unet", head="bins", gate=[0.1, 0.5])
    assert model.head.gated and list(model.head.gate) == pytest.approx([0.1, 0.5])
    assert not any("gate" in key for key in model.state_dict())
    assert not create_model("lite0-unet", head="bins").head.gated


def test_members_share_the_encoder_and_average() -> None:
    """An ensemble of K decoders over one encoder: the forward equals the mean of each member's
    annealed mean (then refinement), and bins_outputs stacks the members along the batch."""
    torch.manual_seed(3)
    model = create_model("lite0-unet", head="bins", members=3).eval()
    assert len(model.decoders) == 3 and model.head is model.decoders[0].head
    first, second = (dict(d.named_parameters()) for d in model.decoders[:2])
    assert not torch.equal(first["bottleneck.0.weight"], second["bottleneck.0.weight"])
    with torch.no_grad():
        for decoder in model.decoders:  # non-trivial refinements
            decoder.refine.correction.weight.normal_(0, 0.1)
        l_norm = random_l_norm(2, 1, 64, 96)
        logits, refined = model.bins_outputs(l_norm)
        assert logits.shape == (6, Q, 16, 24) and refined.shape == (6, 2, 32, 48)
        members = logits.view(3, 2, Q, 16, 24)
        coarse = sum(model.head.decode(m) for m in members) / 3  # (2,2,16,24)
        features = model.encoder.features(model.to_encoder_input(l_norm))
        stride2 = upsample2(coarse)
        expected = upsample2(sum(d.refine(stride2, features[0]) for d in model.decoders) / 3)
        torch.testing.assert_close(model(l_norm), expected, atol=1e-5, rtol=1e-4)


def test_member_disagreement_fades_the_colour() -> None:
    """Two members sure of opposite colours: each alone is vivid, together the gate (reading the
    mean distribution) takes the colour away."""
    from autocolor.models.heads import BinsHead

    heads = [BinsHead(4, temperature=0.5, gate=(0.3, 0.6)) for _ in range(2)]
    features = torch.ones(1, 4, 2, 2)
    with torch.no_grad():
        for head, target in zip(heads, (0, Q - 1), strict=True):  # opposite corners of the grid
            head.conv.weight.zero_()
            head.conv.bias.fill_(-20.0)
            head.conv.bias[target] = 20.0
        alone = heads[0].forward_members([features], heads[:1])
        together = heads[0].forward_members([features, features], heads)
    assert alone.abs().min() > 0.5  # sure: full chroma
    assert together.abs().max() < 1e-3  # two confident, opposite members: gray


def _three_random_heads(join: str, channels_last: bool) -> tuple[list, list[torch.Tensor]]:
    """Three bins heads (T 0.3, 4 input channels) with random weights, joined as ``join``, and
    a (1, 4, 3, 5) feature map for each."""
    from autocolor.models.heads import BinsHead

    heads = [BinsHead(4, temperature=0.3) for _ in range(3)]
    with torch.no_grad():
        for head in heads:
            torch.nn.init.normal_(head.conv.weight, std=0.5)
            torch.nn.init.normal_(head.conv.bias, std=0.5)
            head.channels_last = channels_last
            head.join = join
    return heads, [torch.randn(1, 4, 3, 5, generator=torch.Generator().manual_seed(k))
                   for k in range(3)]


@pytest.mark.parametrize("channels_last", [False, True])
def test_logits_join_is_the_annealed_mean_of_the_mean_logits(channels_last: bool) -> None:
    """join = "logits": one distribution, softmax(mean of the members' logits / T), decoded;
    the ab and the confidence of both layouts agree with that, computed by hand."""
    from autocolor.models.heads import ab_bin_centers

    heads, features = _three_random_heads("logits", channels_last)
    with torch.no_grad():
        mean_logits = sum(h.conv(x) for h, x in zip(heads, features, strict=True)) / 3
        p = torch.softmax(mean_logits.double() / 0.3, dim=1)  # (1,Q,3,5)
        expected = torch.einsum("bqhw,qc->bchw", p, ab_bin_centers().double())
        ab = heads[0].forward_members(features, heads)
        ab2, confidence = heads[0].forward_members_confidence(features, heads)
        torch.testing.assert_close(ab.double(), expected, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(ab2, ab, atol=1e-6, rtol=1e-5)
        assert float(confidence[0, 0, 1, 2]) == pytest.approx(float(
            _spread_confidence_reference(p[0, :, 1, 2][None])), abs=1e-5)
        heads[0].join = "ab"  # the default: the mean of the annealed means differs
        assert not torch.allclose(heads[0].forward_members(features, heads), ab, atol=1e-3)


def test_mixture_join_is_the_annealed_mean_of_the_pooled_distribution() -> None:
    """join = "mixture" (screened, docs/recipes.md): the members' distributions at T = 1
    averaged, then annealed at T and decoded; two sure members that disagree keep one mode's
    colour instead of gray, and the channels-last export form refuses it."""
    from autocolor.models.heads import ab_bin_centers

    heads, features = _three_random_heads("mixture", False)
    with torch.no_grad():
        pooled = sum(torch.softmax(h.conv(x).double(), dim=1)
                     for h, x in zip(heads, features, strict=True)) / 3
        p = torch.softmax(pooled.log() / 0.3, dim=1)
        expected = torch.einsum("bqhw,qc->bchw", p, ab_bin_centers().double())
        torch.testing.assert_close(heads[0].forward_members(features, heads).double(), expected,
                                   atol=1e-5, rtol=1e-4)
        # two members that disagree: one sure of the first bin, the other split between the
        # two last (opposite corners of the grid): the pooled mode, the first bin, wins
        two = heads[:2]
        for head, targets in zip(two, ((0,), (527, 528)), strict=True):
            head.conv.weight.zero_()
            head.conv.bias.fill_(-20.0)
            head.conv.bias[list(targets)] = 20.0
        mixed = two[0].forward_members([features[0], features[1]], two)
        assert ab_bin_centers()[0].max() < -0.8
        assert float(mixed.max()) < -0.5  # most of the way to the first bin's colour
        two[0].join = "ab"  # the mean of the two annealed means: near gray
        assert float(two[0].forward_members([features[0], features[1]], two).abs().max()) < 0.1
        heads[0].join, heads[0].channels_last = "mixture", True
        with pytest.raises(NotImplementedError):
            heads[0].forward_members(features, heads)


def test_single_decoder_weights_of_before_members_still_load() -> None:
    torch.manual_seed(4)
    model = create_model("lite0-unet", head="bins").eval()
    old_names = {key.removeprefix("decoders.0."): value
                 for key, value in model.state_dict().items()}  # the layout before members
    assert "bottleneck.0.weight" in old_names and "head.conv.weight" in old_names
    fresh = create_model("lite0-unet", head="bins").eval()
    fresh.load_state_dict(old_names, strict=True)
    l_norm = random_l_norm(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(fresh(l_norm), model(l_norm))
    with pytest.raises(ValueError, match="members"):
        create_model("lite0-unet", members=0)


def _spread_confidence_reference(probabilities: torch.Tensor) -> torch.Tensor:
    """1 - std of ab under the pooled distributions / std under a uniform one, by hand."""
    from autocolor.models.heads import ab_bin_centers

    centers = ab_bin_centers().double()  # (Q, 2)
    p = probabilities.double()  # (K, Q) member distributions at one pixel
    pooled = p.mean(0)
    mean = pooled @ centers
    variance = (pooled * ((centers - mean) ** 2).sum(1)).sum()
    uniform = ((centers - centers.mean(0)) ** 2).sum(1).mean()
    return (1 - torch.sqrt(variance / uniform)).clamp(0, 1)


@pytest.mark.parametrize("channels_last", [False, True])
def test_confidence_is_the_spread_of_the_pooled_distribution(channels_last: bool) -> None:
    """Sure members: 1; two sure members that disagree: low; flat members: 0; the ab beside it
    is exactly forward's."""
    from autocolor.models.heads import BinsHead

    heads = [BinsHead(4, temperature=0.5) for _ in range(2)]
    features = torch.randn(1, 4, 3, 5, generator=torch.Generator().manual_seed(0))
    for head in heads:
        head.channels_last = channels_last
    with torch.no_grad():
        for head in heads:
            torch.nn.init.normal_(head.conv.weight, std=0.5)
        ab, confidence = heads[0].forward_members_confidence([features, features], heads)
        assert torch.allclose(ab, heads[0].forward_members([features, features], heads),
                              atol=1e-6)
        assert confidence.shape == (1, 1, 3, 5)
        logits = [head.logits(features) for head in heads]  # (1,Q,3,5) each
        for y, x in ((0, 0), (2, 4)):
            members = torch.stack([torch.softmax(m[0, :, y, x] / 0.5, 0) for m in logits])
            assert float(confidence[0, 0, y, x]) == pytest.approx(
                float(_spread_confidence_reference(members)), abs=1e-5)
        for head, target in zip(heads, (0, Q - 1), strict=True):
            head.conv.weight.zero_()
            head.conv.bias.fill_(-40.0)
            head.conv.bias[target] = 40.0
        _, sure = heads[0].forward_members_confidence([features], heads[:1])
        _, split = heads[0].forward_members_confidence([features, features], heads)
        for head in heads:
            head.conv.bias.zero_()
        _, flat = heads[0].forward_members_confidence([features], heads[:1])
    assert sure.min() > 0.999
    assert split.max() < 0.2  # opposite corners of the grid: no idea between them
    assert flat.max() < 0.01


def test_forward_confidence_of_a_model() -> None:
    torch.manual_seed(3)
    model = create_model("lite0-unet", head="bins", members=2).eval()
    l_norm = random_l_norm(2, 1, 64, 96)
    with torch.inference_mode():
        ab, confidence = model.forward_confidence(l_norm)
        assert torch.equal(ab, model(l_norm))
    assert confidence.shape == (2, 1, 64, 96)
    assert 0 <= confidence.min() and confidence.max() <= 1 and confidence.std() > 0
    with pytest.raises(NotImplementedError, match="no distribution"):
        create_model("lite0-unet", head="regression").forward_confidence(l_norm)

