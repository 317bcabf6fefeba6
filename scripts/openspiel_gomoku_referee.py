#!/usr/bin/env python3
"""Replays Gomoku games through OpenSpiel's `gomoku` (15x15, five or more
in a row wins) move by move and checks that it agrees with wgzero.

Input: the JSON lines `wgzero eval --game gomoku --record FILE` writes, one
game a line: {"game", "a_first", "moves" (action ids, row * 15 + col, from
the empty board), "result" (the model's: 1, 0, -1)}.

For each move: the move is legal in OpenSpiel, OpenSpiel's legal moves are
the empty points, and the game is not over before it. At the end: OpenSpiel
says the game is over, and its returns give the same winner.

Prints a summary and a JSON line; exits 1 on any disagreement.

    python scripts/openspiel_gomoku_referee.py games.jsonl
"""

import json
import sys

import pyspiel


def replay(game, record):
    """The disagreements of one recorded game (empty: none)."""
    state = game.new_initial_state()
    size = 15
    empty = set(range(size * size))
    problems = []
    for i, move in enumerate(record["moves"]):
        if state.is_terminal():
            problems.append(f"move {i}: OpenSpiel says the game ended before it")
            return problems
        legal = state.legal_actions()
        if set(legal) != empty:
            problems.append(f"move {i}: OpenSpiel's legal moves are not the empty points")
        if move not in legal:
            problems.append(f"move {i}: {move} is illegal in OpenSpiel")
            return problems
        state.apply_action(move)
        empty.discard(move)
    if not state.is_terminal():
        problems.append("the game did not end in OpenSpiel")
        return problems
    returns = state.returns()
    # OpenSpiel's player 0 moved first; wgzero's result is the model's (A).
    first = returns[0]
    model = first if record["a_first"] else -first
    if model != record["result"]:
        problems.append(
            f"OpenSpiel's result for the model is {model}, wgzero's {record['result']}"
        )
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    game = pyspiel.load_game("gomoku")
    games = moves = 0
    disagreements = []
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            games += 1
            moves += len(record["moves"])
            for p in replay(game, record):
                disagreements.append(f"game {record['game']}: {p}")
    for d in disagreements[:20]:
        print(d)
    print(f"{games} games, {moves} moves replayed; {len(disagreements)} disagreements")
    print(json.dumps({"games": games, "moves": moves, "disagreements": len(disagreements)}))
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
