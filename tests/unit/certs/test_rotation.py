"""Hub key rollover: a new hub key and certificate, the retired certificate kept and published."""

from datetime import timedelta

from certs.authority import CertificateAuthority
from certs.chain import check_issued_by, serial_hex
from certs.signature import parse_signature_header, verify_detached


def test_rotation_makes_a_new_hub_certificate_under_the_same_ca(tmp_path, now):
    """After rotate_hub the hub certificate and key are new, the CA is unchanged, and signatures use the new key."""
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    old = authority.hub_certificate
    new = authority.rotate_hub(now + timedelta(days=1))
    assert new != old and authority.hub_certificate == new
    assert new.public_key() != old.public_key()
    check_issued_by(new, authority.ca_certificate, now + timedelta(days=1))
    signer = verify_detached(parse_signature_header(authority.sign(b"data")), b"data")
    assert signer == new


def test_the_retired_hub_certificate_is_archived_and_published_after_reload(tmp_path, now):
    """hub-<serial>.pem keeps the retired certificate; a reload lists it, newest first, and keeps the new hub."""
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    first = authority.hub_certificate
    second = authority.rotate_hub(now + timedelta(days=1))
    authority.rotate_hub(now + timedelta(days=2))
    assert (tmp_path / f"hub-{serial_hex(first)}.pem").exists()
    reloaded = CertificateAuthority.load_or_create(tmp_path, now + timedelta(days=3))
    assert reloaded.hub_certificate == authority.hub_certificate
    assert reloaded.previous_hub_certificates == [second, first]
    assert authority.previous_hub_certificates == [second, first]
    assert reloaded.previous_hub_pems()[1] == (tmp_path / f"hub-{serial_hex(first)}.pem").read_text()


def test_a_signature_by_the_retired_hub_still_verifies_and_chains(tmp_path, now):
    """A receipt signed before the rollover embeds the old hub certificate, which still chains to the CA."""
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    header = authority.sign(b"receipt")
    authority.rotate_hub(now)
    signer = verify_detached(parse_signature_header(header), b"receipt")
    assert signer in authority.previous_hub_certificates
    check_issued_by(signer, authority.ca_certificate, now)


def test_a_crash_after_archiving_completes_the_rotation_on_the_next_load(tmp_path, now):
    """With the old certificate archived and hub.pem gone, the next load makes a fresh key and certificate."""
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    old = authority.hub_certificate
    (tmp_path / f"hub-{serial_hex(old)}.pem").write_bytes((tmp_path / "hub.pem").read_bytes())
    (tmp_path / "hub.pem").unlink()
    recovered = CertificateAuthority.load_or_create(tmp_path, now)
    assert recovered.hub_certificate != old
    assert recovered.hub_certificate.public_key() != old.public_key()
    assert recovered.previous_hub_certificates == [old]


def test_an_archive_written_just_before_a_crash_does_not_list_the_current_hub(tmp_path, now):
    """If the crash came before hub.pem was removed, the archived copy of the current hub is not 'previous'."""
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    current = authority.hub_certificate
    (tmp_path / f"hub-{serial_hex(current)}.pem").write_bytes((tmp_path / "hub.pem").read_bytes())
    reloaded = CertificateAuthority.load_or_create(tmp_path, now)
    assert reloaded.hub_certificate == current
    assert reloaded.previous_hub_certificates == []


def test_participant_and_hub_certificates_never_outlive_the_ca(tmp_path, now, rsa_key, make_csr):
    """Close to the CA's expiry, issued certificates end when the CA ends."""
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    late = authority.ca_certificate.not_valid_after_utc - timedelta(days=100)
    assert authority.rotate_hub(late).not_valid_after_utc == authority.ca_certificate.not_valid_after_utc
    issued = authority.issue(make_csr(rsa_key), "MC1", late)
    assert issued.not_valid_after_utc == authority.ca_certificate.not_valid_after_utc
