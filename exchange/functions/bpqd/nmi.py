"""The National Metering Identifier: its form and AEMO's checksum digit."""

from __future__ import annotations

import re

NMI_PATTERN = re.compile(r"^[A-Z0-9]{10}$")


def nmi_checksum(nmi: str) -> str:
    """The checksum digit of an NMI, as AEMO's NMI procedure defines it.

    From the rightmost character leftwards, the ASCII value of every second character (starting with the
    rightmost) is doubled; the decimal digits of all the values are summed; the checksum is the amount that
    takes that sum to the next multiple of ten.
    """
    total = 0
    for position, character in enumerate(reversed(nmi)):
        value = ord(character) * (2 if position % 2 == 0 else 1)
        total += sum(int(digit) for digit in str(value))
    return str((10 - total % 10) % 10)
