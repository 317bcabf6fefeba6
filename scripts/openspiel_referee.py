#!/usr/bin/env python3
"""OpenSpiel as the referee of wgzero's Oh Hell records.

Reads traces as JSON lines on standard input (written by wgzero: the rules'
parameters, every step as [actor, allowed-actions mask in hex, action], the
returns, and for a mutated record the step wgzero refused) and replays each
in OpenSpiel's `oh_hell`, comparing at every step: the player to move (-1 =
chance), the legal actions or chance outcomes, and at the end the returns.
Every action is applied with `apply_action_with_legality_check`. A mutated
record must be refused by OpenSpiel at the same step.

Prints one JSON line: games, steps, disagreements, refused, and the first
few disagreements. Exits 1 if there is any disagreement.

    python scripts/openspiel_referee.py < traces.jsonl
"""

import json
import sys

import pyspiel


def load(params, cache):
    """The OpenSpiel game for a wgzero parameter string (cached)."""
    game = cache.get(params)
    if game is None:
        values = {}
        for pair in params.split(","):
            key, value = pair.split("=")
            if value in ("true", "false"):
                values[key] = value == "true"
            else:
                values[key] = int(value)
        game = pyspiel.load_game("oh_hell", values)
        cache[params] = game
    return game


def allowed(state):
    """The chance outcomes or legal actions of `state` as a bit mask."""
    if state.is_chance_node():
        actions = [a for a, _ in state.chance_outcomes()]
    elif state.is_terminal():
        actions = []
    else:
        actions = state.legal_actions()
    mask = 0
    for a in actions:
        mask |= 1 << a
    return mask


def replay(game, trace):
    """Replays one trace; returns (steps checked, refused, disagreement or None)."""
    state = game.new_initial_state()
    reject_at = trace.get("reject_at")
    for i, (actor, mask, action) in enumerate(trace["steps"]):
        player = -1 if state.is_chance_node() else state.current_player()
        if player != actor:
            return i, False, f"step {i}: player {player} to move, wgzero says {actor}"
        theirs = allowed(state)
        if theirs != int(mask, 16):
            return i, False, f"step {i}: allowed {theirs:x}, wgzero says {mask}"
        if i == reject_at:
            try:
                state.apply_action_with_legality_check(action)
            except Exception:  # pyspiel raises SpielError (a RuntimeError)
                return i + 1, True, None
            return i + 1, False, f"step {i}: OpenSpiel accepted action {action}, wgzero refused it"
        try:
            state.apply_action_with_legality_check(action)
        except Exception as e:
            return i, False, f"step {i}: OpenSpiel refused action {action}: {e}"
    steps = len(trace["steps"])
    if reject_at is not None:
        return steps, False, "the mutated step was never reached"
    if trace["returns"]:
        if not state.is_terminal():
            return steps, False, "wgzero's hand ended, OpenSpiel's did not"
        if [float(r) for r in state.returns()] != [float(r) for r in trace["returns"]]:
            return steps, False, f"returns {state.returns()}, wgzero says {trace['returns']}"
    elif state.is_terminal():
        return steps, False, "OpenSpiel's hand ended, wgzero's did not"
    return steps, False, None


def main():
    cache = {}
    games = steps = refused = 0
    disagreements = []
    count = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        trace = json.loads(line)
        checked, was_refused, problem = replay(load(trace["params"], cache), trace)
        games += 1
        steps += checked
        refused += was_refused
        if problem is not None:
            count += 1
            if len(disagreements) < 5:
                disagreements.append({"game": games - 1, "params": trace["params"], "problem": problem})
    print(json.dumps({
        "games": games,
        "steps": steps,
        "refused": refused,
        "disagreements": count,
        "first": disagreements,
    }))
    sys.exit(1 if count else 0)


if __name__ == "__main__":
    main()
