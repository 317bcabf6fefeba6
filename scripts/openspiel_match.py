#!/usr/bin/env python3
"""Oh Hell matches with OpenSpiel as the game master.

OpenSpiel's `oh_hell` holds the true state, deals, checks every action
(`apply_action_with_legality_check`) and scores. Seats are filled from a
lineup of players:
  wgzero   `wgzero agent` (a child process, JSON lines; it is sent the hand
           so far with the other players' cards hidden as -1)
  ismcts   OpenSpiel's C++ information-set MCTS bot, random-rollout
           evaluator, --ismcts-sims simulations (its resampler leaks the
           stock: fair only when every card but the trump card is dealt)
  ismcts-fair
           OpenSpiel's Python ISMCTSBot (same settings) with a fair
           resampler: the other players' unseen cards drawn uniformly from
           every card the player has not seen, the stock included, keeping
           the suits each player has shown out of (slower: Python)
  random   uniform over the legal actions

Duplicate deals: each deal is played once per rotation of the lineup round
the table, so every player holds every hand. Prints per player the mean
score per hand +- standard error and the exact-bid rate, the first player's
advantage over each other player (paired by deal, +- standard error), and
one JSON line at the end.

    python scripts/openspiel_match.py --games 300 \\
        --wgzero "target/release/wgzero agent" --lineup wgzero,ismcts,ismcts
"""

import argparse
import json
import math
import random
import shlex
import subprocess
import sys
import time

import pyspiel


def parse_rules(text):
    values = {"players": 3, "num_suits": 4, "num_cards_per_suit": 4, "num_tricks_fixed": 5}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, value = pair.split("=")
        if key == "blob":
            raise SystemExit("Blob scoring is wgzero's own: OpenSpiel cannot referee it")
        values[key] = value in ("true", "1") if value in ("true", "false") else int(value)
    return values


class WgzeroAgent:
    """`wgzero agent` over a pipe: one request line, one answer line."""

    def __init__(self, command, rules, sees_all=None, num_cards=0):
        self.rules = rules
        self.sees_all = sees_all
        self.num_cards = num_cards
        self.proc = subprocess.Popen(
            shlex.split(command) + ["--rules", rules],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def act(self, state, history, player):
        if self.sees_all:
            bid = min(state.legal_actions()) >= self.num_cards
            if self.sees_all == "all" or self.sees_all == ("bids" if bid else "cards"):
                history = list(state.history())
        request = {"history": history, "player": player}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("wgzero agent exited")
        reply = json.loads(line)
        if "error" in reply:
            raise SystemExit(f"wgzero agent: {reply['error']} (request {request})")
        return reply["action"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class IsmctsAgent:
    def __init__(self, sims, seed):
        self.bot = pyspiel.ISMCTSBot(
            seed, pyspiel.RandomRolloutEvaluator(1, seed), 10.0, sims, -1,
            pyspiel.ISMCTSFinalPolicyType.MAX_VISIT_COUNT, False, False)

    def act(self, state, history, player):
        return self.bot.step(state)

    def close(self):
        pass


class FairResampler:
    """Deals a player cannot tell from the true one, drawn uniformly.

    The other players' unseen cards come from every card the player has not
    seen (the undealt stock included); a player who did not follow suit gets
    no card of that suit (rejection sampling, which keeps the draw uniform
    over the consistent deals).
    """

    def __init__(self, game, rng):
        self.game = game
        self.rng = rng
        params = game.get_parameters()
        self.suits = params["num_suits"]
        self.cards = params["num_suits"] * params["num_cards_per_suit"]
        self.players = game.num_players()
        self.rejected = 0

    def __call__(self, state, player):
        n, history = self.players, state.history()
        tricks = history[0]
        dealt = n * tricks
        hands = [[history[2 + k] for k in range(dealt) if k % n == p] for p in range(n)]
        trump = history[2 + dealt]
        # Who played what, and who showed out of the suit led.
        replay = self.game.new_initial_state()
        plays = []
        for i, a in enumerate(history):
            if i > 2 + dealt and a < self.cards:
                plays.append((replay.current_player(), a))
            replay.apply_action(a)
        voids = [set() for _ in range(n)]
        for t in range(0, len(plays), n):
            led = plays[t][1] % self.suits
            for p, c in plays[t + 1:t + n]:
                if c % self.suits != led:
                    voids[p].add(led)
        played = [[c for q, c in plays if q == p] for p in range(n)]
        seen = set(hands[player]) | {trump} | {c for _, c in plays}
        pool = [c for c in range(self.cards) if c not in seen]
        others = [p for p in range(n) if p != player]
        need = [tricks - len(played[p]) for p in others]
        while True:
            self.rng.shuffle(pool)
            new, k, ok = {}, 0, True
            for p, m in zip(others, need):
                got = pool[k:k + m]
                k += m
                if any(c % self.suits in voids[p] for c in got):
                    ok = False
                    break
                new[p] = played[p] + got
            if ok:
                break
            self.rejected += 1
        new[player] = hands[player]
        out = self.game.new_initial_state()
        out.apply_action(history[0])
        out.apply_action(history[1])
        nxt = [iter(new[p]) for p in range(n)]
        for k in range(dealt):
            out.apply_action(next(nxt[k % n]))
        for a in history[2 + dealt:]:
            out.apply_action(a)
        return out


class FairIsmctsAgent:
    def __init__(self, game, sims, seed):
        import numpy as np
        from open_spiel.python.algorithms import ismcts, mcts
        rng = np.random.RandomState(seed)
        self.bot = ismcts.ISMCTSBot(game, mcts.RandomRolloutEvaluator(1, rng), 10.0, sims,
                                    random_state=rng)
        self.bot.set_resampler(FairResampler(game, random.Random(seed)))

    def act(self, state, history, player):
        return self.bot.step(state)

    def close(self):
        pass


class RandomAgent:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def act(self, state, history, player):
        return self.rng.choice(state.legal_actions())

    def close(self):
        pass


def draw_deal(game, rng):
    """The chance outcomes of one hand (tricks, dealer, cards, trump)."""
    state = game.new_initial_state()
    outcomes = []
    while state.is_chance_node():
        a = rng.choice([a for a, _ in state.chance_outcomes()])
        outcomes.append(a)
        state.apply_action(a)
    return outcomes


def hidden_history(state, deal_len, num_players, num_tricks, player):
    """The actions so far with the cards dealt to others hidden as -1."""
    history = list(state.history())
    dealt = num_players * num_tricks
    for k in range(2, 2 + dealt):
        if k < len(history) and (k - 2) % num_players != player:
            history[k] = -1
    return history


def play_hand(game, deal, seats, stats_rows):
    state = game.new_initial_state()
    chance = iter(deal)
    num_players = game.num_players()
    while not state.is_terminal():
        if state.is_chance_node():
            state.apply_action_with_legality_check(next(chance))
            continue
        p = state.current_player()
        history = hidden_history(state, len(deal), num_players, deal[0], p)
        action = seats[p].act(state, history, p)
        state.apply_action_with_legality_check(action)
    returns = state.returns()
    # Exact bids: a player scores the bonus exactly when tricks == bid.
    text = str(state)
    bids = [int(x) for x in text.split("Bids:")[1].split("\n")[0].split()]
    won = [int(x) for x in text.split("Tricks Won:")[1].split("\n")[0].split()]
    return returns, [b == w for b, w in zip(bids, won)]


def mean_se(xs):
    n = len(xs)
    if n == 0:
        return 0.0, 0.0
    m = sum(xs) / n
    if n < 2:
        return m, 0.0
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return m, math.sqrt(var / n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", default="", help="OpenSpiel parameters key=value,... "
                    "(default players=3,num_suits=4,num_cards_per_suit=4,num_tricks_fixed=5)")
    ap.add_argument("--games", type=int, default=300, help="hands in all (rounded up to whole deals)")
    ap.add_argument("--lineup", default="wgzero,ismcts,ismcts",
                    help="one player per seat: wgzero, ismcts, ismcts-fair, random")
    ap.add_argument("--wgzero", default="wgzero agent", help="the agent's command line")
    ap.add_argument("--wgzero-sees-all", choices=["all", "bids", "cards"],
                    help="research only: send wgzero every hidden card too, for all its "
                    "decisions or only its bids or only its cards (with `agent --sees-all`: "
                    "what its search gives seeing every hand)")
    ap.add_argument("--ismcts-sims", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-deal", metavar="FILE",
                    help="also write each deal's mean score per lineup player (JSON), "
                    "to pair two runs with the same --seed deal by deal")
    args = ap.parse_args()

    params = parse_rules(args.rules)
    rules = ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items())
    game = pyspiel.load_game("oh_hell", params)
    lineup = args.lineup.split(",")
    n = game.num_players()
    if len(lineup) != n:
        raise SystemExit(f"--lineup names {len(lineup)} players for {n} seats")
    players = []
    for i, kind in enumerate(lineup):
        if kind == "wgzero":
            num_cards = params["num_suits"] * params["num_cards_per_suit"]
            players.append(WgzeroAgent(args.wgzero, rules, args.wgzero_sees_all, num_cards))
        elif kind == "ismcts":
            players.append(IsmctsAgent(args.ismcts_sims, args.seed * 100 + i))
        elif kind == "ismcts-fair":
            players.append(FairIsmctsAgent(game, args.ismcts_sims, args.seed * 100 + i))
        elif kind == "random":
            players.append(RandomAgent(args.seed * 100 + i))
        else:
            raise SystemExit(f"unknown player {kind!r} (wgzero, ismcts, random)")
    labels = [f"{kind}#{i}" for i, kind in enumerate(lineup)]
    rng = random.Random(args.seed)
    deals = -(-args.games // n)
    scores = [[] for _ in lineup]
    exact = [[] for _ in lineup]
    per_deal = []  # per deal: each lineup player's mean score over the rotations
    start = time.time()
    games = 0
    for d in range(deals):
        deal = draw_deal(game, rng)
        deal_scores = [[] for _ in lineup]
        for r in range(n):
            # Lineup player i sits in seat (i + r) % n.
            seats = [None] * n
            for i in range(n):
                seats[(i + r) % n] = players[i]
            returns, made = play_hand(game, deal, seats, None)
            for i in range(n):
                seat = (i + r) % n
                scores[i].append(returns[seat])
                exact[i].append(made[seat])
                deal_scores[i].append(returns[seat])
            games += 1
        per_deal.append([sum(x) / len(x) for x in deal_scores])
        if (d + 1) % max(1, deals // 20) == 0 or d + 1 == deals:
            m0, se0 = mean_se(scores[0])
            print(f"{games}/{deals * n} hands  {labels[0]} {m0:.2f} +- {se0:.2f}  "
                  f"{time.time() - start:.0f} s", file=sys.stderr)
    for p in players:
        p.close()
    result = {"rules": rules, "games": games, "deals": deals, "lineup": lineup, "players": {},
              "advantage": {}, "seconds": round(time.time() - start, 1)}
    print(f"{games} hands ({deals} deals x {n} rotations), rules {rules}")
    for i, label in enumerate(labels):
        m, se = mean_se(scores[i])
        rate = sum(exact[i]) / len(exact[i])
        result["players"][label] = {"mean": round(m, 4), "se": round(se, 4), "exact_bid": round(rate, 4)}
        print(f"  {label:10s} {m:6.3f} +- {se:.3f} points a hand, exact bids {100 * rate:.1f}%")
    for j in range(1, n):
        diffs = [row[0] - row[j] for row in per_deal]
        m, se = mean_se(diffs)
        result["advantage"][f"{labels[0]}-{labels[j]}"] = {"mean": round(m, 4), "se": round(se, 4)}
        print(f"  {labels[0]} - {labels[j]}: {m:+.3f} +- {se:.3f} points a hand (paired by deal)")
    print(json.dumps(result))
    if args.per_deal:
        with open(args.per_deal, "w") as f:
            json.dump({"lineup": labels, "seed": args.seed, "per_deal": per_deal}, f)


if __name__ == "__main__":
    main()
