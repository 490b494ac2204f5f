"""The per-sender bound on forged declines kept in quarantine."""

from __future__ import annotations

from worker.budget import DeclineBudget


def test_each_sender_has_a_minutes_worth_then_one_token_per_refill() -> None:
    now = [0.0]
    budget = DeclineBudget(6, clock=lambda: now[0])
    assert [budget.take("alpha") for _ in range(8)] == [True] * 6 + [False] * 2
    # Another sender's bucket is its own.
    assert budget.take("unknown")
    now[0] += 10.0  # 6 a minute: one token back every 10 s
    assert budget.take("alpha") and not budget.take("alpha")
    now[0] += 3600.0  # a long quiet spell refills to the bound, never beyond
    assert sum(budget.take("alpha") for _ in range(20)) == 6
