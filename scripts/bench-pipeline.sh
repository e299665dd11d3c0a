#!/usr/bin/env bash
# Pipeline benchmark: `hearingai transcribe` with 1 and 2 workers against the raw engine,
# `pocketsphinx_continuous -infile`, on the same ~3-minute flite conversation. Runs alternate
# (raw, 1 worker, 2 workers, raw, ...) so that load on a shared machine hits all alike.
# Prints a Markdown table: median wall time, ratio to the raw engine, WER, peak RSS.
#
#   scripts/bench-pipeline.sh [ROUNDS]     (after `make release fixtures`)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BIN=.build/release/hearingai
AUDIO=fixtures/speech/long.wav
REF=fixtures/speech/long.txt
MODEL=/usr/share/pocketsphinx/model/en-us
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[[ -x $BIN ]] || { echo "build first: make release" >&2; exit 1; }
[[ -f $AUDIO ]] || { echo "make fixtures first" >&2; exit 1; }

# run NAME CMD...: appends "wall_s rss_kb" to $WORK/NAME.times, stdout to $WORK/NAME.out
run() {
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$WORK/$name.t" "$@" >"$WORK/$name.out" 2>/dev/null
    cat "$WORK/$name.t" >>"$WORK/$name.times"
}

for ((i = 0; i < ROUNDS; i++)); do
    run raw pocketsphinx_continuous -infile "$AUDIO" -hmm "$MODEL/en-us" -lm "$MODEL/en-us.lm.bin" \
        -dict "$MODEL/cmudict-en-us.dict" -logfn /dev/null
    cp "$WORK/raw.out" "$WORK/raw.txt"
    for w in 1 2; do
        run "w$w" "$BIN" transcribe "$AUDIO" --max-workers "$w" -f txt -o "$WORK/w$w.txt" --cache-dir "$WORK/cache"
    done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
raw_wall=$(cut -d' ' -f1 "$WORK/raw.times" | median)

printf '| run | median wall (s) | wall / raw engine | WER | peak RSS (MB) |\n|---|---|---|---|---|\n'
for name in raw w1 w2; do
    wall=$(cut -d' ' -f1 "$WORK/$name.times" | median)
    rss=$(cut -d' ' -f2 "$WORK/$name.times" | sort -n | tail -1)
    wer=$(python3 scripts/wer.py "$REF" "$WORK/$name.txt")
    case $name in
        raw) label="pocketsphinx_continuous -infile" ;;
        w1) label="hearingai transcribe --max-workers 1" ;;
        w2) label="hearingai transcribe --max-workers 2" ;;
    esac
    awk -v l="$label" -v w="$wall" -v r="$raw_wall" -v e="$wer" -v m="$rss" \
        'BEGIN { printf "| %s | %.2f | %.2fx | %.1f%% | %.0f |\n", l, w, w / r, e * 100, m / 1024 }'
done
echo
echo "Audio: $AUDIO ($(soxi -D "$AUDIO" | awk '{printf "%.0f", $1}') s), $ROUNDS alternating rounds, $(nproc) cores, $(date -u +%Y-%m-%d)."
