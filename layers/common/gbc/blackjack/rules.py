"""The rules of play: `deal` starts a round and `apply` returns the next one; the dealer plays and the round settles.

Rules: 6 decks, a fresh shoe every round; the dealer stands on all 17s; blackjack pays 3:2; the dealer
peeks with an ace or a ten-value card up; insurance (ace up only, up to half the bet) pays 2:1; double
on any first two cards, also after a split but not on split aces; split equal values up to 4 hands;
split aces get one card each and are not resplit; late surrender as the first decision of an unsplit
hand. Pure: no I/O, no clock, and every card comes from the Shoe passed in, in draw order.
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation

from gbc.blackjack.cards import Card, Shoe, hand_value, is_ace
from gbc.blackjack.round import BUST, Action, Hand, HandResult, Outcome, Phase, Result, Round, is_natural, why_not
from gbc.money import money_str


class IllegalAction(Exception):
    """An action the round does not allow now; str(exc) says why, for the player."""


def deal(bet: Decimal, shoe: Shoe) -> Round:
    """Deal player, dealer upcard, player, dealer hole; settle at once when the rules say so."""
    if not isinstance(bet, Decimal) or not bet.is_finite() or bet <= 0:
        raise ValueError("the bet must be a positive, finite Decimal")
    round_ = Round(bet=bet, hands=[Hand(cards=[], bet=bet)], active=0, dealer=[], phase=Phase.PLAYER_TURN)
    hand = round_.hands[0]
    hand.cards.append(_draw(round_, shoe))
    round_.dealer.append(_draw(round_, shoe))
    hand.cards.append(_draw(round_, shoe))
    round_.dealer.append(_draw(round_, shoe))
    if is_ace(round_.dealer[0]):
        round_.phase = Phase.INSURANCE  # the peek waits for the insurance decision
    elif _dealer_blackjack(round_.dealer) or is_natural(round_, hand):
        # Only a ten up can hide a blackjack, so this is the immediate peek; else a natural is paid now.
        _settle(round_)
    return round_


def apply(round_: Round, action: Action | str, shoe: Shoe, amount: Decimal | None = None) -> Round:
    """The round after `action`, as a new Round (the input is left as it was). Raises IllegalAction."""
    act = _parse_action(action)
    reason = why_not(round_, act)
    if reason is not None:
        raise IllegalAction(reason)
    if amount is not None and act is not Action.INSURANCE:
        raise IllegalAction("an amount is only accepted with insurance")
    new = _clone(round_)
    if new.phase == Phase.INSURANCE:
        # Any answer closes the offer; a normal action declines it and waits until after the peek.
        new.insurance = _insurance_stake(new, amount) if act is Action.INSURANCE else Decimal(0)
        new.insurance_decided = True
        if _dealer_blackjack(new.dealer) or is_natural(new, new.hands[0]):
            _settle(new)  # the pending action is void: the round is over
            return new
        new.phase = Phase.PLAYER_TURN
        if act is Action.INSURANCE:
            return new
    _play(new, act, shoe)
    return new


# --- what the player asked for ------------------------------------------------------------------------------------


def _parse_action(action: Action | str) -> Action:
    try:
        return Action(action)
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise IllegalAction(f"unknown action {action!r}; expected one of: {choices}") from None


def _insurance_stake(round_: Round, amount: Decimal | None) -> Decimal:
    cap = round_.bet / 2
    if amount is None:
        return cap
    try:
        # Floats are refused (money is never float); ints and decimal strings convert exactly.
        stake = Decimal(amount) if isinstance(amount, Decimal | int | str) and not isinstance(amount, bool) else None
    except InvalidOperation:
        stake = None
    if stake is None or not stake.is_finite():
        raise IllegalAction("the insurance amount must be a decimal number")
    if stake <= 0:
        raise IllegalAction("the insurance amount must be more than 0")
    if stake > cap:
        raise IllegalAction(f"insurance is at most half the bet ({money_str(cap)})")
    return stake


# --- play ---------------------------------------------------------------------------------------------------------


def _draw(round_: Round, shoe: Shoe) -> Card:
    card = shoe.card(round_.cursor)
    if not 0 <= card < 52:
        raise ValueError(f"the shoe gave an invalid card {card!r} at {round_.cursor}")
    round_.cursor += 1
    return card


def _play(round_: Round, act: Action, shoe: Shoe) -> None:
    hand = round_.hands[round_.active]
    if act in (Action.HIT, Action.SPLIT_HIT):
        hand.cards.append(_draw(round_, shoe))
        hand.done = hand_value(hand.cards)[0] >= 21  # a bust or a 21 ends the hand
    elif act in (Action.STAND, Action.SPLIT_STAND):
        hand.done = True
    elif act is Action.DOUBLE_DOWN:
        hand.bet *= 2
        hand.doubled = True
        hand.cards.append(_draw(round_, shoe))
        hand.done = True
    elif act is Action.SPLIT:
        _split(round_, shoe)
    elif act is Action.SURRENDER:
        hand.surrendered = True
        hand.done = True
    _advance(round_, shoe)


def _split(round_: Round, shoe: Shoe) -> None:
    hand = round_.hands[round_.active]
    aces = is_ace(hand.cards[0])
    pair = [Hand(cards=[card], bet=hand.bet, from_split=True, split_aces=aces) for card in hand.cards]
    # Both hands get their second card now, first hand first; the order is fixed so the shoe replays exactly.
    for new in pair:
        new.cards.append(_draw(round_, shoe))
        new.done = aces or hand_value(new.cards)[0] == 21  # split aces take one card; 21 cannot improve
    round_.hands[round_.active : round_.active + 1] = pair


def _advance(round_: Round, shoe: Shoe) -> None:
    """Move to the next unfinished hand; when there is none, the dealer plays and the round settles."""
    while round_.active < len(round_.hands) and round_.hands[round_.active].done:
        round_.active += 1
    if round_.active == len(round_.hands):
        round_.active = len(round_.hands) - 1
        if any(not hand.surrendered and hand_value(hand.cards)[0] <= 21 for hand in round_.hands):
            while hand_value(round_.dealer)[0] < 17:  # stands on every 17, soft ones too
                round_.dealer.append(_draw(round_, shoe))
        _settle(round_)


def _clone(round_: Round) -> Round:
    # Hand-written deep copy: copy.deepcopy is the hot path's biggest cost, and Decimals are immutable anyway.
    return Round(
        bet=round_.bet,
        hands=[
            Hand(
                cards=list(hand.cards),
                bet=hand.bet,
                doubled=hand.doubled,
                from_split=hand.from_split,
                split_aces=hand.split_aces,
                done=hand.done,
                surrendered=hand.surrendered,
            )
            for hand in round_.hands
        ],
        active=round_.active,
        dealer=list(round_.dealer),
        phase=round_.phase,
        insurance=round_.insurance,
        insurance_decided=round_.insurance_decided,
        cursor=round_.cursor,
        outcome=copy.deepcopy(round_.outcome),
    )


# --- settlement ---------------------------------------------------------------------------------------------------


def _dealer_blackjack(dealer: list[Card]) -> bool:
    # At settlement a two-card dealer 21 can only be the initial hand: the dealer draws from 16 or less.
    return len(dealer) == 2 and hand_value(dealer)[0] == 21


def _settle_hand(round_: Round, hand: Hand, dealer_total: int, dealer_bj: bool) -> HandResult:
    bet = hand.bet
    total = hand_value(hand.cards)[0]
    if hand.surrendered:
        return HandResult(Result.SURRENDER, bet / 2)
    if is_natural(round_, hand):
        return HandResult(Result.PUSH, bet) if dealer_bj else HandResult(Result.BLACKJACK, bet * 5 / 2)
    if dealer_bj:
        return HandResult(Result.LOSE, Decimal(0))
    if total > 21:
        return HandResult(BUST, Decimal(0))
    if dealer_total > 21 or total > dealer_total:
        return HandResult(Result.WIN, bet * 2)
    if total == dealer_total:
        return HandResult(Result.PUSH, bet)
    return HandResult(Result.LOSE, Decimal(0))


def _settle(round_: Round) -> None:
    dealer_bj = _dealer_blackjack(round_.dealer)
    dealer_total = hand_value(round_.dealer)[0]
    results = [_settle_hand(round_, hand, dealer_total, dealer_bj) for hand in round_.hands]
    insurance_payout = round_.insurance * 3 if dealer_bj else Decimal(0)
    win_amount = sum((result.payout for result in results), insurance_payout)
    total_wagered = round_.total_wagered()
    net = win_amount - total_wagered
    # A lone blackjack or surrender names the round; otherwise the money does.
    single = results[0].result if len(results) == 1 else None
    result: Result = Result.WIN if net > 0 else Result.LOSE if net < 0 else Result.PUSH
    if single is Result.BLACKJACK or single is Result.SURRENDER:
        result = single
    round_.outcome = Outcome(
        result=result,
        win_amount=win_amount,
        total_wagered=total_wagered,
        net_profit=net,
        hands=results,
        insurance_payout=insurance_payout,
    )
    round_.phase = Phase.ENDED
