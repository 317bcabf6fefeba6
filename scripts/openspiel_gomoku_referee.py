#!/usr/bin/env python3
"""Replays Gomoku games through OpenSpiel's `gomoku` (15x15, five or more
in a row wins) move by move and checks that it agrees with wgzero.

Input: the JSON lines `wgzero eval --game gomoku --record FILE` writes, one
game a line: {"game", "a_first", "moves" (action ids, row * 15 + col, from
the empty board), "opening_moves" (how many of them the opening played),
"result" (the model's: 1, 0, -1)}.

For each move: the move is legal in OpenSpiel, OpenSpiel's legal moves are
the empty points, and the game is not over before it. At the end: OpenSpiel
says the game is over, and its returns give the same winner.

It also audits the tactics of both sides, move by move, on its own board:
a *missed win* is a move that does not win when one (five or more) was on
the board; an *ignored four* is a move that neither wins nor takes the only
point where the opponent would make five next. Counted for the model (the
side the record's result belongs to) and for its opponent.

Prints a summary and a JSON line; exits 1 on any disagreement.

    python scripts/openspiel_gomoku_referee.py games.jsonl
"""

import json
import sys

import pyspiel


SIZE = 15
DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def makes_five(board, point, colour):
    """Whether `colour` placing a stone on the empty `point` makes five or more."""
    row, col = divmod(point, SIZE)
    for dr, dc in DIRECTIONS:
        run = 1
        for sign in (1, -1):
            r, c = row + sign * dr, col + sign * dc
            while 0 <= r < SIZE and 0 <= c < SIZE and board[r * SIZE + c] == colour:
                run += 1
                r, c = r + sign * dr, c + sign * dc
        if run >= 5:
            return True
    return False


def winning_points(board, colour):
    """The empty points where `colour` would make five."""
    return [p for p in range(SIZE * SIZE) if board[p] is None and makes_five(board, p, colour)]


def audit(record):
    """Tactical lapses of one game: {side: {"missed_wins", "ignored_fours"}}."""
    board = [None] * (SIZE * SIZE)
    lapses = {side: {"missed_wins": 0, "ignored_fours": 0} for side in ("model", "opponent")}
    model_colour = 0 if record["a_first"] else 1
    for i, move in enumerate(record["moves"]):
        colour = i % 2
        # The opening's moves are nobody's choice.
        if i >= record.get("opening_moves", 0):
            side = "model" if colour == model_colour else "opponent"
            wins = winning_points(board, colour)
            threats = winning_points(board, 1 - colour)
            if wins and move not in wins:
                lapses[side]["missed_wins"] += 1
            elif not wins and len(threats) == 1 and move != threats[0]:
                lapses[side]["ignored_fours"] += 1
        board[move] = colour
    return lapses


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
    lapses = {side: {"missed_wins": 0, "ignored_fours": 0} for side in ("model", "opponent")}
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            games += 1
            moves += len(record["moves"])
            problems = replay(game, record)
            for p in problems:
                disagreements.append(f"game {record['game']}: {p}")
            if not problems:
                for side, counts in audit(record).items():
                    for k, n in counts.items():
                        lapses[side][k] += n
    for d in disagreements[:20]:
        print(d)
    print(f"{games} games, {moves} moves replayed; {len(disagreements)} disagreements")
    for side, counts in lapses.items():
        print(
            f"{side}: {counts['missed_wins']} missed wins in one, "
            f"{counts['ignored_fours']} fours left unanswered"
        )
    print(
        json.dumps(
            {
                "games": games,
                "moves": moves,
                "disagreements": len(disagreements),
                "lapses": lapses,
            }
        )
    )
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
