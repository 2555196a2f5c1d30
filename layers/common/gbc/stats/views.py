"""A user's stats as GET /api/stats (and each history page) shows them: the stored value without its
watermark (gbc.stats.service). Every field has a default, so a value stored or cached by an older
release still reads."""

from __future__ import annotations

from decimal import Decimal

from gbc.views import Money, View


class UserStats(View):
    total_hands: int = 0
    total_bet: Money = Decimal(0)
    total_win: Money = Decimal(0)
    net_profit: Money = Decimal(0)
    win_rate: float = 0.0  # percent of hands won (WIN + BLACKJACK), 2 decimals
    wins: int = 0  # WIN + BLACKJACK
    losses: int = 0  # LOSE + SURRENDER
    pushes: int = 0
    blackjacks: int = 0
