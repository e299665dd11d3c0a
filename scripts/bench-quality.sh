#!/usr/bin/env bash
# Quality on the evaluation set (issue 13), after `make release fixtures`. Prints a Markdown
# table, one row per file:
#
#   * WER of `hearingai transcribe` (embedded engine) and of the raw `pocketsphinx_continuous
#     -infile` (same model), against the file's known words (scripts/wer.py: the normalisation
#     rule the tests share), where the reference has words;
#   * DER with a 0.25 s collar (scripts/der.py: NIST-style frames, optimal one-to-one speaker
#     mapping, overlapped reference speech counted per speaker) of `hearingai transcribe -f
#     json`'s speakerTurns, with no hint and with `--speakers N` (N = the true count), and the
#     speakers found by each against the true count. For the no-hint run also DER's parts.
#
# Files: the flite conversations in fixtures/speech (conversation, conversation3), the real
# recordings in fixtures/real and the synthetic variants in fixtures/hard (fixtures/README says
# what each is). The raw engine gets 16 kHz 16-bit PCM (sox converts the 8 kHz telephone
# files first, as a user of it would); hearingai reads every file as it is.
#
#   scripts/bench-quality.sh [NAME...]      default: every file; NAME like real/phone-call
#   JOBS=2 scripts/bench-quality.sh         files scored at once (default 2: one per core;
#                                           each file's three decodes run one after another)
#   RAW=0 scripts/bench-quality.sh          skip the raw engine (its column shows –): its WER
#                                           does not depend on HearingAI's code, and it is a
#                                           third of the run
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/hearingai}
FX=${FIXTURES:-fixtures}
MODEL=/usr/share/pocketsphinx/model/en-us
JOBS=${JOBS:-2}
RAW=${RAW:-1}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[[ -x $BIN ]] || { echo "build first: make release (or BIN=path)" >&2; exit 1; }
[[ -f $FX/real/phone-call.rttm && -f $FX/hard/duo.rttm ]] || { echo "make fixtures first" >&2; exit 1; }
for tool in python3 sox soxi pocketsphinx_continuous xargs; do
    command -v "$tool" >/dev/null || { echo "missing $tool: make test-deps" >&2; exit 1; }
done

if (($# > 0)); then
    FILES=("$@")
else
    FILES=(speech/conversation speech/conversation3
        real/phone-call real/meeting-dev00 real/meeting-dev01 real/meeting-trn06 real/meeting-tst00 real/read-passage
        hard/duo hard/duo-noise20 hard/duo-noise10 hard/duo-noise5 hard/duo-music10 hard/duo-reverb
        hard/duo-phone hard/duo-phone-noise10 hard/duo-level20 hard/duo-overlap hard/duo-espeak hard/duo-mixed)
fi

# score INDEX NAME: decodes one file three ways and writes its table row to $WORK/rows/INDEX.
score() {
    local i=$1 name=$2 audio ref txt base tag n found_auto found_hint der_auto der_hint parts
    local wer_h wer_raw
    audio=$FX/$name.wav base=$FX/$name tag=${name//\//-}
    if [[ -f $base.rttm ]]; then ref=$base.rttm; else ref=$base.turns.tsv; fi
    txt=$base.txt
    n=$(python3 -c 'import sys; sys.path.insert(0, "scripts"); import importlib; d = importlib.import_module("der"); print(len({s for _, _, s in d.read_ref(sys.argv[1])}))' "$ref")

    "$BIN" transcribe "$audio" -f json,txt -o "$WORK/$tag-auto" --cache-dir "$WORK/cache-$tag-auto" \
        >/dev/null 2>"$WORK/$tag-auto.err" || { echo "hearingai failed on $audio:" >&2; cat "$WORK/$tag-auto.err" >&2; return 1; }
    "$BIN" transcribe "$audio" -f json -o "$WORK/$tag-hint.json" --speakers "$n" --cache-dir "$WORK/cache-$tag-hint" \
        >/dev/null 2>"$WORK/$tag-hint.err" || { echo "hearingai --speakers $n failed on $audio:" >&2; cat "$WORK/$tag-hint.err" >&2; return 1; }
    if ((RAW)); then
        sox -D "$audio" -e signed-integer -b 16 -c 1 "$WORK/$tag-16k.wav" rate -v 16000
        pocketsphinx_continuous -infile "$WORK/$tag-16k.wav" -hmm "$MODEL/en-us" -lm "$MODEL/en-us.lm.bin" \
            -dict "$MODEL/cmudict-en-us.dict" -logfn /dev/null >"$WORK/$tag-raw.txt"
    fi

    if [[ -s $txt ]]; then
        wer_h=$(python3 scripts/wer.py "$txt" "$WORK/$tag-auto.txt")
        if ((RAW)); then wer_raw=$(python3 scripts/wer.py "$txt" "$WORK/$tag-raw.txt"); else wer_raw=-; fi
    else
        wer_h=- wer_raw=-
    fi
    read -r _ der_auto _ m _ f _ c < <(python3 scripts/der.py "$ref" "$WORK/$tag-auto.json")
    read -r _ der_hint _ _ _ _ _ _ < <(python3 scripts/der.py "$ref" "$WORK/$tag-hint.json")
    found_auto=$(speakers "$WORK/$tag-auto.json")
    found_hint=$(speakers "$WORK/$tag-hint.json")
    awk -v name="$name" -v len="$(soxi -D "$audio")" -v rate="$(soxi -r "$audio")" -v n="$n" \
        -v wh="$wer_h" -v wr="$wer_raw" -v da="$der_auto" -v dh="$der_hint" -v fa="$found_auto" -v fh="$found_hint" \
        -v m="$m" -v f="$f" -v c="$c" '
        function pct(x) { return x == "-" ? "–" : sprintf("%.1f%%", x * 100) }
        BEGIN { printf "| %s | %.1f | %d | %d | %s | %s | %s | %s / %s / %s | %d | %s | %d |\n",
                name, len, rate / 1000, n, pct(wh), pct(wr), pct(da), pct(m), pct(f), pct(c), fa, pct(dh), fh }' \
        >"$WORK/rows/$(printf %03d "$i")"
    echo "bench-quality: $name done" >&2
}
speakers() { python3 -c 'import json,sys; print(len({t["speaker"] for t in json.load(open(sys.argv[1])).get("speakerTurns", [])}))' "$1"; }
export -f score speakers
export BIN FX MODEL WORK RAW
mkdir -p "$WORK/rows"

START=$(date +%s)
for i in "${!FILES[@]}"; do
    [[ -f $FX/${FILES[$i]}.wav ]] || { echo "no such fixture: $FX/${FILES[$i]}.wav" >&2; exit 1; }
    printf '%s\0%s\0' "$i" "${FILES[$i]}"
done | xargs -0 -n 2 -P "$JOBS" bash -c 'score "$1" "$2"' _
ELAPSED=$(($(date +%s) - START))

echo "### Quality on the evaluation set (\`scripts/bench-quality.sh\`)"
echo
echo "| file | length (s) | kHz | speakers | WER hearingai | WER pocketsphinx_continuous | DER, no hint | missed / false alarm / confusion | speakers found | DER, --speakers N | speakers found, --speakers N |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
cat "$WORK"/rows/*
echo
echo "DER: 0.25 s collar, optimal speaker mapping, overlapped speech scored per speaker (scripts/der.py)."
echo "WER: scripts/wer.py against the file's words (– where the reference has none)."
echo "${#FILES[@]} files, $JOBS at a time, $ELAPSED s; $(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)."
