"""``signage hub nginx-config``: the file it prints, what it refuses, and that ``signage hub --repo`` still
serves; the TLS variant is checked by Debian's nginx itself (``nginx -t``) when it is installed."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signage.cli import _hub, _hub_nginx_config, build_parser, main
from signage.core.errors import UsageError
from signage.operator.hub import nginx
from signage.operator.hub.console.uploads import MAX_UPLOAD_BYTES

NGINX = Path("/usr/sbin/nginx")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "DIR" / "public" / "metadata").mkdir(parents=True)
    return tmp_path / "DIR"


def test_the_command_prints_a_complete_config_for_the_repository(repo: Path):
    status, text, err = run(
        "hub", "nginx-config", "--repo", str(repo), "--upstream", "127.0.0.1:8080", "--listen", "0.0.0.0:80"
    )
    assert status == 0, err
    assert f'root "{repo / "public"}";' in text
    assert "server 127.0.0.1:8080;" in text and "listen 0.0.0.0:80;" in text
    # Unprivileged as it is: no user directive, everything written relative to the prefix.
    assert (
        "\nuser " not in text
        and "pid nginx.pid;" in text
        and "client_body_temp_path client_body_temp;" in text
    )
    assert "/var/" not in text and "ssl_certificate" not in text
    assert f"client_max_body_size {nginx.DEFAULT_BODY_BYTES};" in text
    upload = text.split("location = /upload/ {", 1)[1].split("}", 1)[0]
    assert f"client_max_body_size {MAX_UPLOAD_BYTES};" in upload
    assert "proxy_set_header X-Real-IP $remote_addr;" in text
    assert "server_tokens off;" in text and "disable_symlinks on;" in text and "autoindex off;" in text
    for login in ("location = /login/ {", "location = /admin/login/ {"):
        assert "zone=signage_login" in text.split(login, 1)[1].split("}", 1)[0]


def test_hub_without_an_action_still_serves_and_needs_its_repo(tmp_path: Path):
    parser = build_parser()
    serving = parser.parse_args(["hub", "--repo", str(tmp_path), "--port", "0"])
    assert serving.handler is _hub and serving.hub_command is None and serving.repo == tmp_path
    config = parser.parse_args(["hub", "nginx-config", "--repo", str(tmp_path)])
    assert config.handler is _hub_nginx_config and config.upstream == "127.0.0.1:8080"
    status, _out, err = run("hub", "--port", "0")
    assert status == 2 and "--repo" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--upstream", "8080"], "--upstream"),
        (["--listen", "127.0.0.1:70000"], "--listen"),
        (["--listen", "127.0.0.1:80; user root"], "--listen"),
        (["--server-name", "a b"], "--server-name"),
        (["--tls-cert", "/etc/ssl/cert.pem"], "--tls-key"),
        (["--tls-cert", "/etc/ssl/a$b.pem", "--tls-key", "/etc/ssl/k.pem"], "--tls-cert"),
    ],
)
def test_what_nginx_could_not_take_as_written_is_refused_with_the_option(
    repo: Path, argv: list[str], says: str
):
    status, out, err = run("hub", "nginx-config", "--repo", str(repo), *argv)
    assert status == 2 and out == "" and says in err


def test_a_repository_without_public_is_refused(tmp_path: Path):
    status, out, err = run("hub", "nginx-config", "--repo", str(tmp_path / "none"))
    assert status == 3 and out == "" and "repo init" in err


def test_addresses_are_written_as_nginx_reads_them():
    assert str(nginx.parse_address("[::1]:8443", option="--listen")) == "[::1]:8443"
    assert str(nginx.parse_address("signage.example.org:443", option="--listen")) == "signage.example.org:443"
    with pytest.raises(UsageError):
        nginx.parse_address("[::1]", option="--listen")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signage.example.org")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, key_path


@pytest.mark.skipif(not NGINX.exists(), reason="Debian's nginx is not installed (/usr/sbin/nginx)")
@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
def test_nginx_accepts_the_file_as_it_is(repo: Path, tmp_path: Path, tls: bool):
    extra: list[str] = []
    if tls:
        cert, key = _self_signed(tmp_path)
        extra = ["--tls-cert", str(cert), "--tls-key", str(key), "--server-name", "signage.example.org"]
    status, text, err = run("hub", "nginx-config", "--repo", str(repo), "--listen", "127.0.0.1:8443", *extra)
    assert status == 0, err
    assert ("listen 127.0.0.1:8443 ssl;" in text) is tls and ("X-Forwarded-Proto https;" in text) is tls
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    # -t only parses and opens what the file names (certificate, logs, temporary folders); it binds nothing.
    directives = "user root;" if os.geteuid() == 0 else ""
    checked = subprocess.run(
        [str(NGINX), "-t", "-q", "-c", str(config), "-p", f"{prefix}/", "-g", directives or "daemon on;"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
