"""The NMI checksum and form."""

from __future__ import annotations

import pytest

from exchange.functions.bpqd.nmi import NMI_PATTERN, nmi_checksum

# The worked examples published with AEMO's NMI procedure (checksum algorithm appendix).
AEMO_EXAMPLES = {
    "2001985732": "8", "2001985733": "6", "3075621875": "8", "3075621876": "6", "4316854005": "9",
    "4316854006": "7", "6305888444": "6", "6350888444": "2", "7001888333": "8", "7102000001": "7",
    "NAAAMYS582": "6", "NBBBX11110": "0", "NBBBX11111": "8", "NCCC519495": "5", "NGGG000055": "4",
    "QAAAVZZZZZ": "3", "QCDWW00010": "2", "SMVEW00085": "8", "VAAA000065": "7", "VAAA000066": "5",
    "VAAA000067": "2", "VAAASTY576": "8", "VCCCX00009": "1", "VEEEX00009": "1", "VKTS786150": "2",
    "VKTS867150": "5", "VKTS871650": "7", "VKTS876105": "7", "VKTS876150": "3", "VKTS876510": "8",
}  # fmt: skip


@pytest.mark.parametrize(("nmi", "checksum"), sorted(AEMO_EXAMPLES.items()))
def test_checksum_matches_aemo_published_examples(nmi: str, checksum: str) -> None:
    """Each worked example of AEMO's NMI procedure gets its published checksum digit."""
    assert nmi_checksum(nmi) == checksum


def test_checksum_doubles_from_the_rightmost_character() -> None:
    """Changing the last character by one moves the checksum by two (it is doubled), not by one."""
    assert nmi_checksum("6001000000") == "6"
    assert nmi_checksum("6001000001") == "4"


@pytest.mark.parametrize("nmi", ["6001234567", "QAAAVZZZZZ", "VKTS876510"])
def test_pattern_accepts_ten_capitals_or_digits(nmi: str) -> None:
    """Ten capital letters or digits make a well-formed NMI."""
    assert NMI_PATTERN.fullmatch(nmi)


@pytest.mark.parametrize("nmi", ["600123456", "60012345678", "6001abcdef", "6001 23456", ""])
def test_pattern_rejects_other_lengths_and_characters(nmi: str) -> None:
    """Other lengths, lower case and spaces are not NMIs."""
    assert not NMI_PATTERN.fullmatch(nmi)
