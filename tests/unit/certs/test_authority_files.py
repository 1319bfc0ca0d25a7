"""The files of the exchange CA: where they go, their modes, what a failed write leaves, and hub rollovers in
order. Each test makes its own authority (the session one is made once, before any test can look at it)."""

import stat
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from certs import profiles
from certs.authority import CertificateAuthority, _write_atomically
from certs.participant import private_key_pem
from certs.signature import parse_signature_header, verify_detached

MODES = {"ca.key": 0o600, "ca.pem": 0o600, "hub.key": 0o600, "hub.pem": 0o600}


def _modes(directory):
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in directory.iterdir()}


def test_a_new_authority_makes_its_directory_and_writes_four_files_with_their_modes(tmp_path, now):
    """Missing parent directories are made; keys are private to the owner, certificates readable by all."""
    directory = tmp_path / "var" / "authority"
    CertificateAuthority.load_or_create(directory, now)
    assert _modes(directory) == MODES


def test_rotations_keep_every_retired_hub_certificate_newest_first(tmp_path, now):
    """Two rollovers: both retired certificates are kept as readable hub-<serial>.pem files, newest first, in
    memory and after a reload, and old signatures still name their hub."""
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    first = authority.hub_certificate
    old_signature = authority.sign(b"before")
    second = authority.rotate_hub(now + timedelta(days=1))
    authority.rotate_hub(now + timedelta(days=2))
    assert authority.previous_hub_certificates == [second, first]
    reloaded = CertificateAuthority.load_or_create(tmp_path, now + timedelta(days=3))
    assert reloaded.previous_hub_certificates == [second, first]
    assert reloaded.previous_hub_pems() == authority.previous_hub_pems()
    archived = {f"hub-{format(c.serial_number, 'x')}.pem": 0o600 for c in (first, second)}
    assert _modes(tmp_path) == MODES | archived
    assert verify_detached(parse_signature_header(old_signature), b"before") == first


def test_an_authority_without_a_directory_cannot_rotate(rsa_key, now):
    """An authority built in memory has nowhere to archive its hub certificate, and says so."""
    ca = profiles.build_ca_certificate(rsa_key, "Test CA", now)
    in_memory = CertificateAuthority(rsa_key, ca, rsa_key, ca)
    with pytest.raises(RuntimeError) as error:
        in_memory.rotate_hub(now)
    assert str(error.value) == "only an authority loaded from a directory can rotate its hub key"


def test_a_key_file_that_is_not_rsa_is_refused_by_name(tmp_path, authority, now):
    """An EC key in ca.key next to its certificate is refused, naming the file, rather than used."""
    (tmp_path / "ca.key").write_bytes(private_key_pem(ec.generate_private_key(ec.SECP256R1())))
    (tmp_path / "ca.pem").write_text(authority.ca_pem())
    with pytest.raises(TypeError) as error:
        CertificateAuthority.load_or_create(tmp_path, now)
    assert str(error.value) == f"{tmp_path / 'ca.key'} does not hold an RSA private key"


def test_a_failed_write_raises_its_own_error_and_leaves_no_temporary_file(tmp_path):
    """Replacing a directory fails; the error is the write's own, and the temporary file is removed."""
    (tmp_path / "ca.pem").mkdir()
    with pytest.raises(IsADirectoryError):
        _write_atomically(tmp_path / "ca.pem", b"data", mode=0o644)
    assert [path.name for path in tmp_path.iterdir()] == ["ca.pem"]


def test_issue_with_not_after_keeps_the_given_end_of_term(authority, rsa_key, make_csr, now):
    """A reissue passes the replaced certificate's notAfter, which wins over lifetime_days."""
    end = (now + timedelta(days=100)).replace(microsecond=0)
    certificate = authority.issue(make_csr(rsa_key), "MC1", now, lifetime_days=30, not_after=end)
    assert certificate.not_valid_after_utc == end


def test_issue_never_outlasts_the_ca(authority, rsa_key, make_csr, now):
    """A lifetime past the CA's own expiry is cut to the CA's notAfter."""
    certificate = authority.issue(make_csr(rsa_key), "MC1", now, lifetime_days=365 * 40)
    assert certificate.not_valid_after_utc == authority.ca_certificate.not_valid_after_utc
