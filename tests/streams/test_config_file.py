"""The config file read from disk: each site's caFile and client certificate checked when the config is read, one line
per mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from monitoringapp.domain.config import ConfigError
from monitoringapp.streams.config_file import read_config


def config_with_ca_file(tmp_path: Path, ca_file: Path) -> Path:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"websites": [{"URL": "https://a.test/", "caFile": str(ca_file)}]}))
    return path


def test_a_ca_file_that_is_readable_but_no_pem_is_named_as_such(tmp_path: Path) -> None:
    # ssl.SSLError is an OSError: it was caught as one, "cannot read ([X509: NO_CERTIFICATE_OR_CRL_FOUND] ...)".
    ca_file = tmp_path / "notes.txt"
    ca_file.write_text("these are not certificates\n")
    path = config_with_ca_file(tmp_path, ca_file)
    with pytest.raises(ConfigError) as raised:
        read_config(path, probing=True)
    assert str(raised.value) == f"{path}: websites[0].caFile: not a PEM file of CA certificates, got {str(ca_file)!r}"


def test_a_ca_file_that_is_missing_is_named_as_such(tmp_path: Path) -> None:
    path = config_with_ca_file(tmp_path, tmp_path / "no-ca.pem")
    with pytest.raises(ConfigError) as raised:
        read_config(path, probing=True)
    assert str(raised.value) == f"{path}: websites[0].caFile: file not found, got {str(tmp_path / 'no-ca.pem')!r}"


def test_a_prober_takes_its_headers_from_the_environment_and_a_reader_reads_them_as_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITORINGAPP_PROBE_TOKEN", "s3cret")
    monkeypatch.delenv("MONITORINGAPP_UNSET_PROBE_TOKEN", raising=False)
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"websites": [
        {"URL": "https://a.test/", "headers": {"Authorization": "Bearer ${MONITORINGAPP_PROBE_TOKEN}"}}]}))
    assert read_config(path, probing=True).sites[0].request.values == (("Authorization", "Bearer s3cret"),)
    assert read_config(path).sites[0].request.values == (
        ("Authorization", "Bearer ${MONITORINGAPP_PROBE_TOKEN}"),)
    path.write_text(json.dumps({"websites": [
        {"URL": "https://a.test/", "headers": {"Authorization": "Bearer ${MONITORINGAPP_UNSET_PROBE_TOKEN}"},
         "caFile": str(tmp_path / "no-ca.pem")}]}))
    with pytest.raises(ConfigError) as raised:
        read_config(path, probing=True)
    assert str(raised.value) == (f"{path}: websites[0].headers.Authorization: environment variable "
                                 "MONITORINGAPP_UNSET_PROBE_TOKEN is not set")
    assert read_config(path).sites[0].request.ca_file == str(tmp_path / "no-ca.pem")


def test_a_relative_ca_file_is_taken_from_the_config_files_folder_and_shown_as_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "c.json"
    path.write_text(json.dumps({"websites": [{"URL": "https://a.test/", "caFile": "certs/ca.pem"}]}))
    monkeypatch.chdir(tmp_path)  # the working directory is not the config's folder
    request = read_config("etc/c.json").sites[0].request
    assert (request.ca_file, request.ca_path, request.verify) == (
        "certs/ca.pem", str(folder / "certs" / "ca.pem"), str(folder / "certs" / "ca.pem"))
    assert request.effective()["caFile"] == "certs/ca.pem"  # --check prints the config as written
    with pytest.raises(ConfigError) as raised:
        read_config("etc/c.json", probing=True)
    assert str(raised.value) == (f"etc/c.json: websites[0].caFile: file not found at {folder / 'certs' / 'ca.pem'} "
                                 "(a relative caFile is in the config file's folder), got 'certs/ca.pem'")


@pytest.fixture(scope="module")
def client_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """certs/: a client certificate with its key (both.pem), apart (cert.pem, key.pem), its key encrypted
    (encrypted.pem), and another certificate's key (other-key.pem)."""
    folder = tmp_path_factory.mktemp("client") / "certs"
    folder.mkdir()
    ca = trustme.CA()
    client, other = ca.issue_cert("monitor@example.test"), ca.issue_cert("other@example.test")
    client.private_key_and_cert_chain_pem.write_to_path(str(folder / "both.pem"))
    client.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    client.private_key_pem.write_to_path(str(folder / "key.pem"))
    other.private_key_pem.write_to_path(str(folder / "other-key.pem"))
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
    (folder / "encrypted.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    return folder


@pytest.mark.parametrize("keys", [{"clientCert": "certs/both.pem"},
                                  {"clientCert": "certs/cert.pem", "clientKey": "certs/key.pem"}],
                         ids=["key-in-the-certificates-file", "key-apart"])
def test_a_client_certificate_is_taken_from_the_config_files_folder_and_shown_as_written(
        client_files: Path, keys: dict[str, str]) -> None:
    path = client_files.parent / "c.json"
    path.write_text(json.dumps({"websites": [{"URL": "https://a.test/", **keys}]}))
    request = read_config(path, probing=True).sites[0].request
    folder = client_files.parent
    assert request.cert == (str(folder / keys["clientCert"]) if "clientKey" not in keys
                            else (str(folder / keys["clientCert"]), str(folder / keys["clientKey"])))
    assert {key: request.effective()[key] for key in keys} == keys  # --check prints the config as written


@pytest.mark.parametrize(("keys", "message"), [
    ({"clientCert": "certs/none.pem"}, "websites[0].clientCert: file not found at {folder}/certs/none.pem (a relative "
                                       "clientCert is in the config file's folder), got 'certs/none.pem'"),
    ({"clientCert": "certs/cert.pem", "clientKey": "certs/none.pem"}, "websites[0].clientKey: file not found"),
    ({"clientCert": "certs/cert.pem"}, "websites[0].clientCert: not a PEM client certificate and its private key"),
    ({"clientCert": "certs/key.pem", "clientKey": "certs/key.pem"},
     "websites[0].clientCert: not a PEM client certificate at"),
    ({"clientCert": "certs/cert.pem", "clientKey": "certs/other-key.pem"},
     "websites[0].clientKey: not the private key of clientCert's certificate at {folder}/certs/other-key.pem"),
    # OpenSSL would have asked for its passphrase on the terminal at every new connection, holding the probe.
    ({"clientCert": "certs/cert.pem", "clientKey": "certs/encrypted.pem"},
     "websites[0].clientKey: its private key is encrypted, and a probe cannot type a passphrase"),
], ids=["missing", "key-missing", "no-key", "not-a-certificate", "another-key", "encrypted-key"])
def test_a_client_certificate_a_probe_cannot_show_is_refused_when_the_config_is_read(
        client_files: Path, keys: dict[str, str], message: str) -> None:
    path = client_files.parent / "c.json"
    path.write_text(json.dumps({"websites": [{"URL": "https://a.test/", **keys}]}))
    with pytest.raises(ConfigError) as raised:
        read_config(path, probing=True)
    assert str(raised.value).startswith(f"{path}: {message.format(folder=client_files.parent)}"), str(raised.value)
    assert "\n" not in str(raised.value)
    read_config(path)  # a reader sends no request: the files are no concern of it
