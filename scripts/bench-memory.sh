#!/usr/bin/env bash
# Memory benchmark: peak RSS and wall time for a 1-minute and a ~25-minute flite recording at
# memory limits of 160, 256 and 512 MB and with none (`--max-workers 2` throughout), plus a
# plot of resident memory over time against each limit for the long file
# (docs/memory-long.svg). Prints a Markdown table.
#
#   scripts/bench-memory.sh [SVG]     (after `make release fixtures`)
set -euo pipefail
cd "$(dirname "$0")/.."
SVG=${1:-docs/memory-long.svg}
BIN=.build/release/hearingai
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

SHORT=fixtures/speech/conversation.wav
LONG=$WORK/long25.wav
# ~25 minutes: the 3-minute conversation eight times over.
sox $(for _ in 1 2 3 4 5 6 7 8; do echo fixtures/speech/long.wav; done) "$LONG"

printf '| file | limit (MB) | workers allowed | peak RSS (MB) | peak / limit | wall (s) | speed (x real time) |\n|---|---|---|---|---|---|---|\n'
for file in "$SHORT" "$LONG"; do
    duration=$(soxi -D "$file")
    label=$(awk -v d="$duration" 'BEGIN { printf "%.1f min", d / 60 }')
    for limit in 160 256 512 0; do
        trace="$WORK/trace-$limit.tsv"
        /usr/bin/time -f "%e %M" -o "$WORK/t" "$BIN" transcribe "$file" --memory-limit "$limit" --max-workers 2 \
            -f json -o "$WORK/out.json" --cache-dir "$WORK/cache" --memory-trace "$trace" >/dev/null
        read -r wall rss <"$WORK/t"
        workers=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["memory"]["workersAllowed"])' "$WORK/out.json")
        [[ $file == "$LONG" ]] && cp "$trace" "$WORK/long-$limit.tsv"
        awk -v f="$label" -v l="$limit" -v w="$workers" -v r="$rss" -v t="$wall" -v d="$duration" 'BEGIN {
            lim = (l == 0) ? "none" : l; ratio = (l == 0) ? "–" : sprintf("%.2f", r / 1024 / l)
            printf "| %s | %s | %s | %.0f | %s | %.1f | %.1f |\n", f, lim, w, r / 1024, ratio, t, d / t }'
    done
done

python3 scripts/plot-memory.py "$SVG" "$WORK"/long-160.tsv "$WORK"/long-256.tsv "$WORK"/long-512.tsv "$WORK"/long-0.tsv
echo
echo "Peak RSS is the kernel's maximum resident set (GNU time %M). $(nproc) cores, $(date -u +%Y-%m-%d). Plot: $SVG."
