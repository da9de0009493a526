"""The platform's own CA for the sandbox registry's HTTPS, as an ACP installation has one.

ACP serves its registry over HTTPS with a certificate from the platform's CA, which no system
trust store holds. `SandboxCA` makes such a CA (EC P-256, with the `cryptography` package) and
issues the registry's server certificate for the addresses it is reached at, so that a client
without the CA fails as it would against a real platform, and one given `ca_file` succeeds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=30)
_CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sandbox platform"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class SandboxCA:
    """A CA in `directory` (`ca.pem`), and the server certificates it issues.

    `cert_dir` holds `ca.crt` for skopeo's `--dest-cert-dir`/`--src-cert-dir` (containers/image
    reads `*.crt` there as CAs), as `/etc/containers/certs.d/HOST:PORT/` would on a node.
    """

    def __init__(self, directory: Path, common_name: str = "sandbox platform CA") -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_CA_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / "ca.pem"
        """The CA's certificate (PEM): what `REGCLEAN_REGISTRY_CA_FILE` names."""
        self.ca_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self.cert_dir = directory / "certs.d"
        self.cert_dir.mkdir(exist_ok=True)
        (self.cert_dir / "ca.crt").write_bytes(self.ca_file.read_bytes())

    def issue(self, name: str, hosts: Sequence[str]) -> tuple[Path, Path]:
        """A server certificate for `hosts` (IP addresses or DNS names); returns (certificate, key)
        files, the certificate file holding the leaf, as `http.tls.certificate` takes it."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        cert_file, key_file = self.directory / f"{name}.pem", self.directory / f"{name}-key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem_key(key))
        key_file.chmod(0o600)
        return cert_file, key_file

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA only (the sandbox's own probes)."""
        return ssl.create_default_context(cafile=str(self.ca_file))
