#!/usr/bin/env python3
"""Picks balanced Gomoku (15x15 freestyle) openings with an outside Gomocup
engine's own evaluation, for `wgzero eval --openings FILE`.

Candidates: `--stones` stones (Black, White, Black, ...) placed at random on
distinct points of the central `--area` x `--area` square, seeded. Each is
sent to the engine (BOARD ... DONE, `--ms` milliseconds a turn); the engine
reports its evaluation for the side to move in a `MESSAGE ... Eval N ...`
line (as pbrain-figrid does). An opening is kept when |N| <= `--max-eval`;
candidates are drawn until `--count` are kept.

Writes one opening a line in wgzero's notation (column letter, row number
from the bottom: `h8` is the centre), with the engine's evaluation as a
comment line above the openings.

    python scripts/gomoku_openings.py --engine pbrain-figrid --count 50 \\
        --out models/gomoku15/openings.txt
"""

import argparse
import random
import re
import subprocess
import sys

SIZE = 15


def notation(x, y):
    """wgzero's name of the point at column x, row y from the top."""
    return f"{chr(ord('a') + x)}{SIZE - y}"


class Engine:
    """One Gomocup brain process, asked one position at a time."""

    def __init__(self, command, ms):
        self.proc = subprocess.Popen(
            command,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.send(f"START {SIZE}")
        self.expect_ok()
        self.send(f"INFO timeout_turn {ms}")
        self.send("INFO timeout_match 0")
        self.send("INFO rule 0")

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            sys.exit("the engine closed its output")
        return line.strip()

    def expect_ok(self):
        while True:
            line = self.read()
            if line == "OK":
                return
            if line.startswith("ERROR"):
                sys.exit(f"the engine refused START: {line}")

    def evaluate(self, stones):
        """The engine's evaluation for the side to move, and its move."""
        # BOARD gives the whole position: no RESTART needed (not every
        # brain knows it).
        self.send("BOARD")
        to_move = len(stones) % 2
        for i, (x, y) in enumerate(stones):
            own = 1 if i % 2 == to_move else 2
            self.send(f"{x},{y},{own}")
        self.send("DONE")
        value = None
        while True:
            line = self.read()
            m = re.search(r"Eval (-?\d+)", line)
            if line.startswith("MESSAGE") and m:
                value = int(m.group(1))
            elif re.fullmatch(r"\d+,\d+", line):
                return value, line
            elif line.startswith(("ERROR", "UNKNOWN")):
                sys.exit(f"the engine answered {line}")

    def close(self):
        try:
            self.send("END")
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()


def candidate(rng, stones, area):
    lo = (SIZE - area) // 2
    points = [(x, y) for x in range(lo, lo + area) for y in range(lo, lo + area)]
    return rng.sample(points, stones)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", required=True, help="the brain's command line")
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--stones", type=int, default=3)
    p.add_argument("--area", type=int, default=7)
    p.add_argument("--ms", type=int, default=300)
    p.add_argument("--max-eval", type=int, default=15)
    p.add_argument("--max-candidates", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if not 1 <= a.stones <= 8 or not a.stones <= a.area * a.area or not 5 <= a.area <= SIZE:
        sys.exit("--stones must be 1-8 and --area 5-15")
    rng = random.Random(a.seed)
    engine = Engine(a.engine, a.ms)
    kept, tried, seen, values = [], 0, set(), []
    try:
        while len(kept) < a.count and tried < a.max_candidates:
            stones = candidate(rng, a.stones, a.area)
            key = tuple(stones)
            if key in seen:
                continue
            seen.add(key)
            tried += 1
            value, _ = engine.evaluate(stones)
            if value is None:
                sys.exit("the engine reports no evaluation (MESSAGE ... Eval N)")
            values.append(value)
            if abs(value) <= a.max_eval:
                kept.append((stones, value))
    finally:
        engine.close()
    if len(kept) < a.count:
        sys.exit(f"only {len(kept)} of {tried} candidates within --max-eval {a.max_eval}")
    with open(a.out, "w") as f:
        f.write(
            f"# {a.count} Gomoku openings, {a.stones} stones in the central "
            f"{a.area}x{a.area}, seed {a.seed}: the {a.count} first of {tried} random "
            f"candidates that {a.engine.split()[0].split('/')[-1]} at {a.ms} ms "
            f"evaluates within +-{a.max_eval} for the side to move.\n"
        )
        for stones, value in kept:
            f.write(" ".join(notation(x, y) for x, y in stones) + "\n")
    print(f"{len(kept)} openings kept of {tried} candidates -> {a.out}")
    values.sort()
    q = lambda t: values[int(t * (len(values) - 1))]
    print(f"evaluations: min {values[0]}, quartiles {q(0.25)} {q(0.5)} {q(0.75)}, max {values[-1]}")


if __name__ == "__main__":
    main()
