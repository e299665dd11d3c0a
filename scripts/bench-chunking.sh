#!/usr/bin/env bash
# Chunking defaults from measurement: `hearingai transcribe --max-workers 2` on the ~3-minute
# flite conversation for several chunk sizes and overlaps. Prints a Markdown table of median
# wall time, its ratio to the unchunked run (one chunk, one worker) and WER.
#
#   scripts/bench-chunking.sh [ROUNDS]     (after `make release fixtures`)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
BIN=.build/release/hearingai
AUDIO=fixtures/speech/long.wav
REF=fixtures/speech/long.txt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

CONFIGS=("600 0 1" "10 0.5 2" "10 1 2" "15 1 2" "20 0.5 2" "20 1 2" "30 0.5 2" "30 1 2" "60 1 2")
for ((i = 0; i < ROUNDS; i++)); do
    for config in "${CONFIGS[@]}"; do
        read -r size overlap workers <<<"$config"
        name="c${size}_o${overlap}_w${workers}"
        /usr/bin/time -f "%e" -o "$WORK/$name.t" "$BIN" transcribe "$AUDIO" --chunk-size "$size" --overlap "$overlap" \
            --max-workers "$workers" -f txt -o "$WORK/$name.txt" --cache-dir "$WORK/cache" >/dev/null
        cat "$WORK/$name.t" >>"$WORK/$name.times"
    done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=$(median <"$WORK/c600_o0_w1.times")
printf '| chunk size (s) | overlap (s) | workers | median wall (s) | wall / unchunked | WER |\n|---|---|---|---|---|---|\n'
for config in "${CONFIGS[@]}"; do
    read -r size overlap workers <<<"$config"
    name="c${size}_o${overlap}_w${workers}"
    wall=$(median <"$WORK/$name.times")
    wer=$(python3 scripts/wer.py "$REF" "$WORK/$name.txt")
    label=$size; [[ $size == 600 ]] && label="600 (one chunk)"
    awk -v s="$label" -v o="$overlap" -v w="$workers" -v t="$wall" -v b="$base" -v e="$wer" \
        'BEGIN { printf "| %s | %s | %s | %.2f | %.2fx | %.1f%% |\n", s, o, w, t, t / b, e * 100 }'
done
echo
echo "Audio: $AUDIO, $ROUNDS rounds, $(nproc) cores, $(date -u +%Y-%m-%d)."
