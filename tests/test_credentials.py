"""Signed C2PA Content Credentials (the optional c2pa extra), with a self-signed certificate made
here: every output format signed and read back by the C2PA library, the XMP packet and the
pixels untouched, tampering detected, and the command line and the server signing."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

c2pa = pytest.importorskip("c2pa", reason="the c2pa extra is not installed")

from autocolor.credentials import ContentCredentials  # noqa: E402
from autocolor.image_output import image_bytes  # noqa: E402
from autocolor.images import LoadedImage  # noqa: E402
from autocolor.provenance import DIGITAL_SOURCE_TYPE, Provenance  # noqa: E402

SHA = "cd" * 32


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(certificate PEM, key PEM): an EC P-256 certificate signed by its own key, with what
    C2PA asks of a signing certificate (v3, digitalSignature, an extended key usage, key ids)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "autocolor test signer"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "autocolor tests")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("c2pa")
    cert_path, key_path = folder / "signer.pem", folder / "signer.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def manifest_of(data: bytes) -> tuple[dict, dict]:
    """(the active manifest, the whole store) as the C2PA library reads them."""
    with c2pa.Reader(io.BytesIO(data)) as reader:
        store = json.loads(reader.json())
    return store["manifests"][store["active_manifest"]], store


def actions_of(manifest: dict) -> list[dict]:
    [actions] = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    return actions["data"]["actions"]


def created_action(manifest: dict) -> dict:
    """The colouring: the last action, the only one with the digital source type."""
    actions = actions_of(manifest)
    assert [a for a in actions if "digitalSourceType" in a] == [actions[-1]]
    return actions[-1]


def assert_opened(manifest: dict, title: str, source: bytes) -> None:
    """The input is the parentOf ingredient that the first action, c2pa.opened, names."""
    opened = actions_of(manifest)[0]
    assert opened["action"] == "c2pa.opened"
    [ingredient] = manifest["ingredients"]
    assert ingredient["relationship"] == "parentOf" and ingredient["title"] == title
    assert ingredient["format"] == Image.MIME[Image.open(io.BytesIO(source)).format]
    [link] = opened["parameters"]["ingredients"]
    assert "c2pa.ingredient" in link["url"]


def _image(fmt: str, smooth_rgb) -> tuple[bytes, bytes]:
    loaded = LoadedImage(lightness=np.full((24, 32), 50.0, np.float32))
    xmp = Provenance("default", SHA).xmp()
    return image_bytes(smooth_rgb(5, 24, 32), loaded, fmt, xmp), xmp


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tiff"])
def test_every_format_is_signed(self_signed, smooth_rgb, xmp_of, fmt: str) -> None:
    credentials = ContentCredentials.from_files(*self_signed, Provenance("default", SHA))
    data, xmp = _image(fmt, smooth_rgb)
    signed = credentials.sign(data, fmt)
    manifest, store = manifest_of(signed)
    assert store["validation_state"] != "Invalid", store.get("validation_status")
    # A test certificate is not on any trust list; nothing else may be wrong.
    codes = {status["code"] for status in store.get("validation_status", [])}
    assert codes <= {"signingCredential.untrusted"}, codes
    action = created_action(manifest)
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert action["parameters"]["model"] == "default"
    assert action["parameters"]["model_sha256"] == SHA
    assert manifest["signature_info"]["common_name"] == "autocolor test signer"
    assert xmp_of(signed) == xmp_of(data)  # the XMP mark is still there
    with Image.open(io.BytesIO(signed)) as after, Image.open(io.BytesIO(data)) as before:
        assert np.array_equal(np.asarray(after), np.asarray(before))


def test_an_edit_of_the_input_with_its_restoration(self_signed, smooth_rgb) -> None:
    """With the input's bytes and the steps that ran: opened, one action per step, then the
    colouring as an edit (c2pa.edited) with the digital source type."""
    from autocolor.restore.config import C2PA_ACTIONS

    credentials = ContentCredentials.from_files(*self_signed, Provenance("default", SHA))
    data, _ = _image("jpeg", smooth_rgb)
    scan = io.BytesIO()
    Image.fromarray(smooth_rgb(2, 24, 32)[..., 0]).save(scan, "TIFF")
    signed = credentials.for_photo(scan.getvalue(), "scan.tif", ["dust", "fading"])(data, "jpeg")
    manifest, store = manifest_of(signed)
    codes = {status["code"] for status in store.get("validation_status", [])}
    assert codes <= {"signingCredential.untrusted"}, codes
    assert_opened(manifest, "scan.tif", scan.getvalue())
    actions = actions_of(manifest)
    assert [a["action"] for a in actions] == [
        "c2pa.opened", C2PA_ACTIONS["dust"][0], C2PA_ACTIONS["fading"][0], "c2pa.edited"]
    assert "dust" in actions[1]["parameters"]["description"]
    assert "fading" in actions[2]["parameters"]["description"]
    assert created_action(manifest)["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    # Without restoring: opened, then the colouring alone.
    plain, _ = manifest_of(credentials.for_photo(scan.getvalue(), "scan.tif")(data, "jpeg"))
    assert [a["action"] for a in actions_of(plain)] == ["c2pa.opened", "c2pa.edited"]


def test_tampering_is_detected(self_signed, smooth_rgb) -> None:
    credentials = ContentCredentials.from_files(*self_signed, Provenance("default", SHA))
    signed = bytearray(credentials.sign(_image("png", smooth_rgb)[0], "png"))
    idat = signed.index(b"IDAT")
    signed[idat + 10] ^= 0xFF  # one byte of pixel data
    _, store = manifest_of(bytes(signed))
    codes = {status["code"] for status in store.get("validation_status", [])}
    assert any("mismatch" in code for code in codes), codes


def test_bad_credentials_are_one_line(self_signed, tmp_path: Path) -> None:
    cert, key = self_signed
    with pytest.raises(ValueError, match="no PEM certificate"):
        ContentCredentials(b"junk", key.read_bytes(), Provenance("d", SHA))
    with pytest.raises(ValueError, match="algorithm"):
        ContentCredentials(cert.read_bytes(), key.read_bytes(), Provenance("d", SHA), "md5")
    other = tmp_path / "other.key"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    mismatched = ContentCredentials.from_files(cert, other, Provenance("d", SHA))
    with pytest.raises(ValueError, match="C2PA signing failed") as error:
        mismatched.sign(image_bytes(np.zeros((8, 8, 3), np.uint8),
                                    LoadedImage(np.zeros((8, 8), np.float32)), "png"), "png")
    assert "\n" not in str(error.value)


def test_command_line_signs(self_signed, tiny_weights: Path, tmp_path: Path, capsys) -> None:
    from autocolor.cli import main

    cert, key = self_signed
    Image.fromarray(np.tile(np.arange(0, 256, 8, dtype=np.uint8), (16, 1))).save(
        tmp_path / "gray.jpg", quality=90)
    args = ["colorize", str(tmp_path / "gray.jpg"), "--model", str(tiny_weights),
            "--backend", "torch"]
    assert main([*args, "-o", str(tmp_path / "out"), "--c2pa-cert", str(cert),
                 "--c2pa-key", str(key)]) == 0, capsys.readouterr().err
    manifest, _ = manifest_of((tmp_path / "out" / "gray.jpg").read_bytes())
    sha = hashlib.sha256(tiny_weights.read_bytes()).hexdigest()
    assert created_action(manifest)["parameters"]["model_sha256"] == sha
    assert_opened(manifest, "gray.jpg", (tmp_path / "gray.jpg").read_bytes())
    assert [a["action"] for a in actions_of(manifest)] == ["c2pa.opened", "c2pa.edited"]
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "x"), "--c2pa-cert", str(cert)]) == 1
    assert capsys.readouterr().err.strip() == "error: --c2pa-cert and --c2pa-key go together"
    assert main([*args, "-o", str(tmp_path / "y"), "--c2pa-cert", str(cert), "--c2pa-key",
                 str(key), "--no-provenance"]) == 1
    assert "contradict" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_server_signs(self_signed, tiny_weights: Path, smooth_rgb) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from autocolor.infer.colorizer import Colorizer
    from autocolor.serve.app import create_app
    from autocolor.serve.config import ServeConfig

    colorizer = Colorizer.from_pretrained(tiny_weights, backend="torch")
    credentials = ContentCredentials.from_files(*self_signed, colorizer.provenance)
    buffer = io.BytesIO()
    Image.fromarray(smooth_rgb(1, 24, 32)[..., 0]).save(buffer, "PNG")
    with TestClient(create_app(ServeConfig(), colorizer, credentials)) as client:
        response = client.post("/v1/colorize", files={"image": ("a.png", buffer.getvalue())},
                               data={"format": "webp"})
    assert response.status_code == 200, response.text
    manifest, _ = manifest_of(response.content)
    assert created_action(manifest)["parameters"]["model"] == tiny_weights.name
    assert_opened(manifest, "a.png", buffer.getvalue())
