#!/usr/bin/env python3
"""Word error rate of a hypothesis transcript against a reference.

Usage: wer.py REF_TXT HYP_TXT [-v]
       wer.py --words [TXT]

Prints WER = (substitutions + deletions + insertions) / reference words,
as a fraction (e.g. 0.0833), using word-level Levenshtein distance.
With -v also prints the counts on stderr.
With --words prints the normalised words of TXT (standard input if absent or "-"),
one per line: the rule the Swift tests' normalizedWords must follow, checked on the
cases in Tests/TestSupport/wer-normalisation-cases.json.

Both files are normalised the same way so raw pocketsphinx_continuous
output can be scored directly:
  * lowercase, punctuation dropped (apostrophes inside words kept);
  * alternate-pronunciation markers removed: "to(3)" -> "to";
  * sentence / silence tokens and fillers dropped: <s> </s> <sil>
    and anything in square brackets such as [noise] or [breath]
    (also ++garbage++ style fillers used by older Sphinx models).
  * hearingai's speaker labels at the start of a paragraph ("Speaker 1: ") are dropped.
Only the standard library is used.
"""
import re
import sys

_ALT_PRON = re.compile(r"\(\d+\)$")  # word(2) -> word
_FILLER = re.compile(r"^(<[^>]*>|\[[^\]]*\]|\+\+.*\+\+)$")  # <sil>, [noise], ++um++
_KEEP = re.compile(r"[^a-z0-9' ]+")


# hearingai's txt output starts speaker paragraphs with "Speaker 1: "; they are labels, not speech.
_SPEAKER = re.compile(r"(?m)^Speaker \d+: ")


def words(text):
    out = []
    text = _SPEAKER.sub("", text)
    for tok in text.split():
        tok = tok.lower()
        if _FILLER.match(tok):
            continue
        tok = _ALT_PRON.sub("", tok)
        tok = _KEEP.sub(" ", tok)
        for w in tok.split():
            w = w.strip("'")
            if w:
                out.append(w)
    return out


def edit_counts(ref, hyp):
    """Return (substitutions, deletions, insertions) of a minimal alignment."""
    # Row of (cost, subs, dels, ins) tuples; two-row dynamic programme.
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            c, s, d, n = prev[j - 1]
            if ref[i - 1] == hyp[j - 1]:
                best = (c, s, d, n)
            else:
                best = (c + 1, s + 1, d, n)
            c, s, d, n = prev[j]
            if c + 1 < best[0]:
                best = (c + 1, s, d + 1, n)
            c, s, d, n = cur[j - 1]
            if c + 1 < best[0]:
                best = (c + 1, s, d, n + 1)
            cur.append(best)
        prev = cur
    _, s, d, n = prev[-1]
    return s, d, n


def read_text(path):
    """The text of `path` ("-" is standard input), read the same way for every mode:
    UTF-8 with undecodable bytes replaced, universal newlines."""
    if path == "-":
        with open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False) as f:
            return f.read()
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def main(argv):
    if len(argv) > 1 and argv[1] == "--words":
        if len(argv) > 3:
            sys.stderr.write(__doc__)
            return 2
        for w in words(read_text(argv[2] if len(argv) == 3 else "-")):
            print(w)
        return 0
    args = [a for a in argv[1:] if a != "-v"]
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    ref = words(read_text(args[0]))
    hyp = words(read_text(args[1]))
    s, d, n = edit_counts(ref, hyp)
    if ref:
        wer = (s + d + n) / len(ref)
    else:
        wer = 0.0 if not hyp else float(len(hyp))  # avoid division by zero
    print(f"{wer:.4f}")
    if "-v" in argv:
        sys.stderr.write(
            f"ref_words={len(ref)} hyp_words={len(hyp)} sub={s} del={d} ins={n}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
