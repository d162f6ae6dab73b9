"""Crash-and-resume trials: SIGKILL `kgx extract` at random moments, run the
same command again, and compare the final store with an uninterrupted run.

Usage: kill_resume.py KGX_BINARY [--trials N] [--seed S]
Compares sorted N-Quads of both stores with run IRIs and timestamps masked
(every run has its own IRI and clock; everything else must be identical),
and checks the run log marked the killed run `killed`. Prints one line per
trial and a final `N passed, M failed` line; exits non-zero on any failure.
"""
import argparse
import csv
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN_IRI = re.compile(r"<[^>]*/run/[^>]*>")
TIMESTAMP = re.compile(r'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[^"]*"\^\^<http://www.w3.org/2001/XMLSchema#dateTime>')


def make_corpus(path: Path, copies: int) -> int:
    """The sample sentences, `copies` times with distinct ids, as JSON Lines."""
    with open(REPO / "samples/wiki_films.csv", newline="") as f:
        sentences = [row["sentence"] for row in csv.DictReader(f)]
    n = 0
    with open(path, "w") as out:
        for c in range(copies):
            for i, s in enumerate(sentences):
                out.write(json.dumps({"id": f"c{c}-{i}", "text": s}) + "\n")
                n += 1
    return n


def extract_cmd(kgx: str, store: Path, corpus: Path) -> list:
    return [kgx, "extract", "--quiet", "--device", "cpu", "--chunk-sentences", "256", "--store", str(store), str(corpus)]


def normalised_quads(kgx: str, store: Path) -> list:
    out = subprocess.run([kgx, "export", "--store", str(store), "--format", "nquads"], check=True, capture_output=True, text=True).stdout
    lines = {TIMESTAMP.sub('"TIME"', RUN_IRI.sub("<RUN>", line)) for line in out.splitlines() if line.strip()}
    return sorted(lines)


def run_statuses(store: Path) -> list:
    with sqlite3.connect(store / "runlog.sqlite") as db:
        return [r[0] for r in db.execute("SELECT status FROM runs ORDER BY started_at, id")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kgx")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kgx-kill-"))
    corpus = work / "corpus.jsonl"
    sentences = make_corpus(corpus, args.copies)
    ref = work / "reference"
    t0 = time.monotonic()
    subprocess.run(extract_cmd(args.kgx, ref, corpus), check=True)
    duration = time.monotonic() - t0
    reference = normalised_quads(args.kgx, ref)
    print(f"reference: {sentences} sentences, {len(reference)} quads, {duration:.1f} s")
    passed = failed = 0
    for trial in range(args.trials):
        store = work / f"trial{trial}"
        proc = subprocess.Popen(extract_cmd(args.kgx, store, corpus), stderr=subprocess.DEVNULL)
        delay = rng.uniform(0.0, duration * 1.1)
        # Every fourth trial asks for a clean stop (SIGTERM) instead of killing.
        sig = signal.SIGTERM if trial % 4 == 3 else signal.SIGKILL
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(sig)
        code = proc.wait()
        resume = subprocess.run(extract_cmd(args.kgx, store, corpus), capture_output=True, text=True)
        problems = []
        if resume.returncode != 0:
            problems.append(f"resume exited {resume.returncode}: {resume.stderr.strip()}")
        got = normalised_quads(args.kgx, store)
        if got != reference:
            missing, extra = set(reference) - set(got), set(got) - set(reference)
            problems.append(f"store differs: {len(missing)} quads missing, {len(extra)} extra")
        statuses = run_statuses(store)
        expected_first = ("interrupted", "completed") if sig == signal.SIGTERM else ("killed", "completed")
        if killed and statuses and statuses[0] not in expected_first:
            problems.append(f"stopped run logged as {statuses[0]}")
        if killed and sig == signal.SIGTERM and code not in (130, 0):
            problems.append(f"SIGTERM gave exit code {code}, expected 130")
        if statuses[-1] != "completed":
            problems.append(f"resumed run logged as {statuses[-1]}")
        ok = not problems
        passed += ok
        failed += not ok
        print(f"trial {trial + 1:2d}: {sig.name} at {delay:5.2f} s ({'stopped' if killed else 'finished first'}), runs {statuses}: {'ok' if ok else '; '.join(problems)}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
