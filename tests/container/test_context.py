"""The build context: the bento's files plus its models as a store root, and nothing else of the host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from bento.builder.context import CA_FILE, MODELS_DIR, BuildContext, read_bento
from bento.errors import ContainerizeError, NotFound
from bento.store import open_store


def save_model(name: str, payload: bytes) -> tuple[str, str]:
    with open_store().models.create(name) as m:
        m.path_of("model.bin").write_bytes(payload)
    assert m.item is not None
    return m.item.tag, m.item.digest


def make_bento(root: Path, models: list[dict[str, str]], **extra: object) -> Path:
    bento = root / "bento"
    (bento / "src").mkdir(parents=True)
    (bento / "env" / "docker").mkdir(parents=True)
    (bento / "src" / "service.py").write_text("x = 1\n")
    (bento / "env" / "docker" / "Dockerfile").write_text("FROM scratch\n")
    manifest = {"name": "svc", "version": "v1", "digest": "d" * 64, "models": models, **extra}
    (bento / "bento.yaml").write_text(yaml.safe_dump(manifest))
    return bento


def test_context_holds_the_bento_and_its_models_as_a_store(tmp_path: Path) -> None:
    tag, digest = save_model("iris", b"weights" * 1000)
    bento = read_bento(make_bento(tmp_path, [{"tag": tag, "digest": digest}]))
    with BuildContext(bento) as ctx:
        assert (ctx.path / "src" / "service.py").read_text() == "x = 1\n"
        assert (ctx.path / ctx.dockerfile).is_file()
        # The image's store (BENTO_HOME) resolves the model by its tag, with the same content.
        copied = open_store(ctx.path / MODELS_DIR).models.get(tag)
        assert copied.digest == digest
        assert copied.path_of("model.bin").read_bytes() == b"weights" * 1000
        assert not (ctx.path / MODELS_DIR / ".tmp").exists()
        where = ctx.path
    assert not where.exists()


def test_a_model_changed_since_the_build_is_refused(tmp_path: Path) -> None:
    tag, _ = save_model("iris", b"new weights")
    bento = read_bento(make_bento(tmp_path, [{"tag": tag, "digest": "0" * 64}]))
    before = set(os.listdir(tmp_path))
    with pytest.raises(ContainerizeError, match="rebuild the bento"):
        BuildContext(bento)
    assert set(os.listdir(tmp_path)) == before


def test_a_missing_model_is_named(tmp_path: Path) -> None:
    bento = read_bento(make_bento(tmp_path, [{"tag": "ghost:v1", "digest": ""}]))
    with pytest.raises(NotFound, match="ghost"):
        BuildContext(bento)


def test_a_directory_without_manifest_is_not_a_bento(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="bento build"):
        read_bento(tmp_path)


def test_the_host_ca_goes_into_non_vendored_contexts_only(tmp_path: Path) -> None:
    ca = tmp_path / "corp-ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
    plain = read_bento(make_bento(tmp_path / "a", []))
    with BuildContext(plain, ca_bundle=ca) as ctx:
        assert (ctx.path / CA_FILE).read_text() == ca.read_text()
    vendored = read_bento(make_bento(tmp_path / "b", [], build={"python": {"vendor": True}}))
    with BuildContext(vendored, ca_bundle=ca) as ctx:
        assert not (ctx.path / CA_FILE).exists()


def test_writing_the_ca_never_changes_the_stored_bento(tmp_path: Path) -> None:
    # Context files are hard links into the store: a file written there must not write through.
    bento_dir = make_bento(tmp_path, [])
    (bento_dir / CA_FILE).write_text("original")
    ca = tmp_path / "corp-ca.crt"
    ca.write_text("host ca")
    with BuildContext(read_bento(bento_dir), ca_bundle=ca) as ctx:
        assert (ctx.path / CA_FILE).read_text() == "host ca"
    assert (bento_dir / CA_FILE).read_text() == "original"


def test_the_host_ca_comes_from_pip_cert_or_pip_config(tmp_path: Path) -> None:
    from bento.builder.context import host_ca_bundle

    ca = tmp_path / "corp-ca.crt"
    ca.write_text("ca")
    assert host_ca_bundle({"PIP_CERT": str(ca)}) == ca
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\ncert = {ca}\n")
    assert host_ca_bundle({"PIP_CONFIG_FILE": str(conf)}) == ca
    # A setting that names a missing file is ignored rather than copied.
    other = host_ca_bundle({"PIP_CERT": str(tmp_path / "missing.crt"), "PIP_CONFIG_FILE": str(conf)})
    assert other == ca
