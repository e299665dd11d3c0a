#!/usr/bin/env python3
"""Diarization error rate of a hearingai transcript against reference speaker turns.

Usage: der.py REF HYP [--collar SECONDS] [-v]

REF is a fixture's turn list, REF.turns.tsv (made by scripts/make-fixtures.sh: a header row,
then tab-separated `start_seconds end_seconds speaker_voice text`), or a NIST RTTM file,
REF.rttm (`SPEAKER file channel onset duration <NA> <NA> speaker <NA> <NA>` lines; every
SPEAKER line counts, whatever its file column, so give one file's turns).  HYP is the output of
`hearingai transcribe -f json`; its top-level `speakerTurns` ([{start, end, speaker}]) are
scored.  (A bare JSON list of turns, a .turns.tsv or an .rttm is accepted too.)

    DER = (missed speech + false alarm + speaker confusion) / total reference speech

scored NIST-style:
  * time is cut into 10 ms frames; a turn [start, end) covers frames
    floor(start*100 + 0.5) .. floor(end*100 + 0.5) - 1;
  * a no-score collar of --collar seconds (default 0.25) either side of every reference
    turn's start and end is removed from scoring, from the numerator and the denominator;
  * in each scored frame with R reference and H hypothesis speakers:
        missed = max(0, R - H), false alarm = max(0, H - R),
        confusion = min(R, H) - (speakers correct under the mapping);
  * the mapping of hypothesis speakers to reference speakers is one-to-one and chosen to
    maximise the frames they share (exact: dynamic programme over subsets of the smaller
    side; unmapped hypothesis speakers are always confusion or false alarm).

Prints one line on stdout, fractions of the scored reference speech:
    DER 0.0412 missed 0.0100 false_alarm 0.0200 confusion 0.0112
With -v also prints seconds, the mapping and per-speaker figures on stderr.
Tests/HearingAITests/DiarizationErrorRate.swift implements the same definition.
Only the standard library is used.
"""
import json
import math
import sys

FRAME = 0.01  # seconds


def frame(t):
    """Index of the first frame at or after time t (frame centres in [start, end) count)."""
    return int(math.floor(t / FRAME + 0.5))


def read_tsv(path):
    turns = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        cols = line.split("\t")
        if n == 0 and not _is_number(cols[0]):
            continue  # header
        if len(cols) < 3:
            sys.exit(f"der.py: {path}:{n + 1}: expected start, end, speaker columns")
        turns.append((float(cols[0]), float(cols[1]), cols[2]))
    return turns


def read_rttm(path):
    """SPEAKER lines of an RTTM file as (start, end, speaker); other line types are skipped."""
    turns = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f.read().splitlines()):
            cols = line.split()
            if not cols or cols[0] != "SPEAKER":
                continue
            if len(cols) < 8 or not (_is_number(cols[3]) and _is_number(cols[4])):
                sys.exit(f"der.py: {path}:{n + 1}: not an RTTM SPEAKER line")
            start, duration = float(cols[3]), float(cols[4])
            turns.append((start, start + duration, cols[7]))
    return turns


def read_ref(path):
    return read_rttm(path) if path.endswith(".rttm") else read_tsv(path)


def read_hyp(path):
    if path.endswith(".tsv"):
        return read_tsv(path)
    if path.endswith(".rttm"):
        return read_rttm(path)
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        if "speakerTurns" not in data:
            sys.exit(f"der.py: {path}: no speakerTurns (was it made with --no-diarization?)")
        data = data["speakerTurns"]
    return [(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in data]


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def best_mapping(overlap, ref_ids, hyp_ids):
    """One-to-one hyp -> ref mapping maximising the summed overlap.

    overlap[(h, r)] = shared frames.  Exact: a DP over subsets of the smaller side, walking the
    larger side one speaker at a time (each may stay unmatched).
    """
    swap = len(hyp_ids) < len(ref_ids)
    small, large = (hyp_ids, ref_ids) if swap else (ref_ids, hyp_ids)

    def gain(s, l):
        return overlap.get((s, l) if swap else (l, s), 0)

    size = 1 << len(small)
    best = [0] + [-1] * (size - 1)  # best[mask] = max overlap with exactly `mask` of small used
    choice = []  # per large speaker: mask -> (previous mask, small index or None)
    for l in large:
        new = list(best)
        back = {m: (m, None) for m in range(size) if best[m] >= 0}
        for m in range(size):
            if best[m] < 0:
                continue
            for i, s in enumerate(small):
                if m & (1 << i):
                    continue
                v = best[m] + gain(s, l)
                m2 = m | (1 << i)
                if v > new[m2]:
                    new[m2] = v
                    back[m2] = (m, i)
        best = new
        choice.append(back)
    # Walk back from the best final mask.
    mask = max(range(size), key=lambda m: best[m])
    mapping = {}
    for l, back in zip(reversed(large), reversed(choice)):
        prev, i = back[mask]
        if i is not None:
            s = small[i]
            h, r = (s, l) if swap else (l, s)
            mapping[h] = r
        mask = prev
    return mapping


def score(ref, hyp, collar=0.25):
    """Returns a dict of frame counts and the mapping; see the module docstring."""
    end = max([frame(e) for _, e, _ in ref + hyp] + [0])
    ref_frames = [set() for _ in range(end)]
    hyp_frames = [set() for _ in range(end)]
    for s, e, spk in ref:
        for i in range(max(0, frame(s)), frame(e)):
            ref_frames[i].add(spk)
    for s, e, spk in hyp:
        for i in range(max(0, frame(s)), frame(e)):
            hyp_frames[i].add(spk)
    scored = [True] * end
    if collar > 0:
        for s, e, _ in ref:
            for b in (s, e):
                for i in range(max(0, frame(b - collar)), min(end, frame(b + collar))):
                    scored[i] = False

    overlap = {}
    total = missed = false_alarm = 0
    ref_ids, hyp_ids = set(), set()
    for i in range(end):
        if not scored[i]:
            continue
        r, h = ref_frames[i], hyp_frames[i]
        total += len(r)
        ref_ids |= r
        hyp_ids |= h
        missed += max(0, len(r) - len(h))
        false_alarm += max(0, len(h) - len(r))
        for hs in h:
            for rs in r:
                overlap[(hs, rs)] = overlap.get((hs, rs), 0) + 1
    ref_ids |= {spk for _, _, spk in ref}
    hyp_ids |= {spk for _, _, spk in hyp}
    ref_ids, hyp_ids = sorted(ref_ids), sorted(hyp_ids)
    mapping = best_mapping(overlap, ref_ids, hyp_ids)
    correct = sum(overlap.get((h, r), 0) for h, r in mapping.items())
    matched = sum(min(len(ref_frames[i]), len(hyp_frames[i])) for i in range(end) if scored[i])
    confusion = matched - correct
    return {
        "total": total, "missed": missed, "false_alarm": false_alarm, "confusion": confusion,
        "mapping": mapping, "overlap": overlap, "ref_ids": ref_ids, "hyp_ids": hyp_ids,
        "scored_frames": sum(scored), "frames": end,
    }


def main(argv):
    args = [a for a in argv if a != "-v"]
    verbose = len(args) != len(argv)
    collar = 0.25
    if "--collar" in args:
        i = args.index("--collar")
        try:
            collar = float(args[i + 1])
        except (IndexError, ValueError):
            sys.exit("der.py: --collar needs a number of seconds")
        del args[i:i + 2]
    if len(args) != 2 or collar < 0:
        sys.exit(__doc__.split("\n\n")[1])
    ref, hyp = read_ref(args[0]), read_hyp(args[1])
    r = score(ref, hyp, collar)
    total = r["total"]
    if total == 0:
        sys.exit("der.py: no scored reference speech")
    print("DER %.4f missed %.4f false_alarm %.4f confusion %.4f" % (
        (r["missed"] + r["false_alarm"] + r["confusion"]) / total,
        r["missed"] / total, r["false_alarm"] / total, r["confusion"] / total))
    if verbose:
        sec = lambda n: "%.2f s" % (n * FRAME)
        err = sys.stderr
        print(f"collar {collar} s; scored {sec(r['scored_frames'])} of {sec(r['frames'])}", file=err)
        print(f"reference speech {sec(total)}: missed {sec(r['missed'])}, false alarm "
              f"{sec(r['false_alarm'])}, confusion {sec(r['confusion'])}", file=err)
        print(f"reference speakers {len(r['ref_ids'])} ({', '.join(r['ref_ids'])}); "
              f"hypothesis speakers {len(r['hyp_ids'])} ({', '.join(r['hyp_ids'])})", file=err)
        for h in r["hyp_ids"]:
            target = r["mapping"].get(h, "(unmapped)")
            shares = ", ".join(f"{rs} {sec(r['overlap'].get((h, rs), 0))}" for rs in r["ref_ids"])
            print(f"  {h} -> {target}   scored overlap: {shares}", file=err)
        print(f"reference turns {len(ref)}, hypothesis turns {len(hyp)}", file=err)


if __name__ == "__main__":
    main(sys.argv[1:])
