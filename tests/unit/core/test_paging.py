"""The one cursor codec: what it hands out comes back, and nothing else gets through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.kernel.paging import CursorError, cut, decode_cursor, encode_cursor


@given(st.text(), st.integers(min_value=0, max_value=2**63 - 1))
def test_a_cursor_decodes_to_the_key_it_was_made_from(text: str, number: int) -> None:
    """encode_cursor then decode_cursor gives back the same sort key."""
    assert decode_cursor(encode_cursor(text, number), str, int) == (text, number)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not-a-cursor!", id="not-base64"),
        pytest.param("Zm9vYmFy", id="base64-not-json"),
        pytest.param(encode_cursor(1), id="too-short"),
        pytest.param(encode_cursor(1, 2, 3), id="too-long"),
        pytest.param(encode_cursor("1", 2), id="wrong-kind"),
        pytest.param(encode_cursor(-1, 2), id="negative"),
        pytest.param(encode_cursor(2**63, 2), id="over-64-bits"),
        pytest.param("W3RydWUsIDJd", id="boolean"),
    ],
)
def test_a_cursor_not_handed_out_is_a_cursor_error(cursor: str) -> None:
    """Anything but a key of the expected kinds is refused with CursorError."""
    with pytest.raises(CursorError):
        decode_cursor(cursor, int, int)


def test_a_key_may_allow_several_kinds() -> None:
    """A sort column of text or numbers takes either."""
    assert decode_cursor(encode_cursor(7, 1), (str, int), int) == (7, 1)
    assert decode_cursor(encode_cursor("x", 1), (str, int), int) == ("x", 1)


def test_cut_names_the_last_row_only_when_another_page_follows() -> None:
    """Rows fetched with LIMIT n + 1: n of them, and the last shown when there were more."""
    assert cut([1, 2, 3], 2) == ([1, 2], 2)
    assert cut([1, 2], 2) == ([1, 2], None)
    assert cut([], 2) == ([], None)
