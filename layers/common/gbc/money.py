"""Money is Decimal end to end; in JSON it is a plain decimal string ("100.5", never "1E+2")."""

from __future__ import annotations

from decimal import Decimal


def money_str(amount: Decimal) -> str:
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
