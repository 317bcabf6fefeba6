#!/usr/bin/env python3
"""Pairs two `wgzero selfplay --game ohhell --league 1` runs by deal.

Runs with the same seed and settings deal the same hands to the same seats,
so the searched seat's lead over the rollout opponents can be compared hand
by hand; prints the mean difference (B - A) with its standard error.

    python3 scripts/league_pair.py DIR_A DIR_B     # each holds hands.jsonl
"""
import json
import math
import sys


def leads(folder):
    """(deal, searched seat) -> that seat's score minus the others' mean."""
    out = {}
    path = f"{folder}/hands.jsonl"
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        sys.exit(f"error: {path}: {e.strerror}")
    for n, line in enumerate(lines, 1):
        try:
            hand = json.loads(line)
            opponents, returns, actions = hand.get("opponents", 0), hand["returns"], hand["actions"]
        except (ValueError, KeyError, TypeError) as e:
            sys.exit(f"error: {path}:{n}: not a hand record ({e})")
        if not opponents:
            continue
        players = len(returns)
        me = next(p for p in range(players) if not opponents >> p & 1)
        # The deal: the chance actions before the first bid (ids >= num_cards).
        deal = tuple(actions[: deal_length(actions, players)])
        out[(deal, me)] = returns[me] - (sum(returns) - returns[me]) / (players - 1)
    return out


def deal_length(actions, players):
    """Chance actions of an Oh Hell record: the number of tricks (its first
    action), the dealer, players x tricks cards, the trump card."""
    return 2 + players * actions[0] + 1


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = leads(sys.argv[1]), leads(sys.argv[2])
    keys = [k for k in a if k in b]
    if len(keys) < 2:
        sys.exit("error: fewer than two league hands dealt alike in both runs (same seed?)")
    d = [b[k] - a[k] for k in keys]
    n = len(d)
    mean = sum(d) / n
    se = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1) / n)
    print(
        f"{n} hands paired by deal: lead {sum(a[k] for k in keys) / n:+.3f} ({sys.argv[1]}), "
        f"{sum(b[k] for k in keys) / n:+.3f} ({sys.argv[2]}); "
        f"difference {mean:+.3f} +- {se:.3f}"
    )
    print(json.dumps({"paired": n, "lead_a": sum(a[k] for k in keys) / n,
                      "lead_b": sum(b[k] for k in keys) / n, "difference": mean, "se": se}))


if __name__ == "__main__":
    main()
