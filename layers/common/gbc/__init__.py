"""GBC Blackjack backend: the shared package every Lambda function imports from the common layer."""

import decimal as _decimal

__version__ = "0.1.0"

# Money is NUMERIC(38,18) and wei is 10^18 times that: Python's default 28 significant digits would
# round a large amount (a debit, a refund, a voucher's wei) without a word. 80 digits hold every value
# the columns and a uint256 can; set for this thread and every thread started later.
_decimal.DefaultContext.prec = 80
_decimal.getcontext().prec = 80
