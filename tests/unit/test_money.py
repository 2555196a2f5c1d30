from decimal import Decimal

import pytest

from gbc.money import money_str


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0E-18"), "0"),
        (Decimal("100.000000000000000000"), "100"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.000000000000000001"), "0.000000000000000001"),
        (Decimal("-2.50"), "-2.5"),
    ],
)
def test_money_is_a_plain_decimal_string(amount, text):
    assert money_str(amount) == text
