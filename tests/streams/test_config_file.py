"""The config file read from disk: each site's caFile checked when the config is read, one line per mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
