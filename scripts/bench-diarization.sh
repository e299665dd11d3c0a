#!/usr/bin/env bash
# Diarization benchmark (after `make release fixtures`). Prints two Markdown tables:
#
#  1. Accuracy: diarization error rate (scripts/der.py, 0.25 s collar, optimal speaker
#     mapping) of `hearingai transcribe -f json`'s speakerTurns on the flite conversations,
#     whose turns are known to the sample, with its three components.
#     Target: DER <= 10% on the 2- and 3-voice conversations.
#  2. Cost: wall time of `hearingai transcribe` with diarization (the default) against
#     `--no-diarization`, on long.wav (185 s) and on long.wav three times over (~9 min),
#     ROUNDS alternating rounds (the order flips each round, so that load on a shared
#     machine hits both alike); medians of wall and CPU (user + system) time, their ratios,
#     the diarization thread's own seconds from the JSON metadata, and peak RSS.
#     Target: diarization adds at most 10% wall time.
#
#   scripts/bench-diarization.sh [ROUNDS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BIN=.build/release/hearingai
SPEECH=fixtures/speech
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[[ -x $BIN ]] || { echo "build first: make release" >&2; exit 1; }
[[ -f $SPEECH/long.turns.tsv ]] || { echo "make fixtures first" >&2; exit 1; }
for tool in python3 sox soxi /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool: make test-deps" >&2; exit 1; }
done

# transcribe NAME AUDIO [FLAGS...]: JSON to $WORK/NAME.json, "wall_s rss_kb cpu_s" appended to $WORK/NAME.times.
transcribe() {
    local name=$1 audio=$2; shift 2
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/$name.t" \
        "$BIN" transcribe "$audio" -f json -o "$WORK/$name.json" --cache-dir "$WORK/cache" "$@" >/dev/null 2>"$WORK/$name.err" || {
        echo "hearingai transcribe $audio $* failed:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
    awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$WORK/$name.t" >>"$WORK/$name.times"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# speakers JSON: distinct speakers in speakerTurns; diarization_seconds JSON: metadata figure.
speakers() { python3 -c 'import json,sys; print(len({t["speaker"] for t in json.load(open(sys.argv[1])).get("speakerTurns", [])}))' "$1"; }
diarization_seconds() {
    python3 -c 'import json,sys; d=(json.load(open(sys.argv[1]))["metadata"].get("diarization") or {}); print(d.get("seconds", "nan"))' "$1"
}
voices() { tail -n +2 "$1" | cut -f3 | sort -u | wc -l; }

# The ~9-minute file and its reference: long.wav three times, turns shifted by its length.
LONG3=$WORK/long3.wav
sox "$SPEECH/long.wav" "$SPEECH/long.wav" "$SPEECH/long.wav" "$LONG3"
python3 - "$SPEECH/long.turns.tsv" "$(soxi -s "$SPEECH/long.wav")" "$WORK/long3.turns.tsv" <<'EOF'
import sys
src, samples, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(src, encoding="utf-8").read().splitlines()
with open(out, "w", encoding="utf-8") as f:
    f.write(lines[0] + "\n")
    for k in range(3):
        shift = k * samples / 16000
        for line in lines[1:]:
            c = line.split("\t")
            f.write("%.7f\t%.7f\t%s\n" % (float(c[0]) + shift, float(c[1]) + shift, "\t".join(c[2:])))
EOF

# ---------------------------------------------------------------- accuracy
echo "### Diarization error rate (\`hearingai transcribe -f json\`, 0.25 s collar)"
echo
printf '| file | length (s) | voices | speakers found | DER | missed | false alarm | confusion |\n|---|---|---|---|---|---|---|---|\n'
for name in conversation conversation3 long long3; do
    if [[ $name == long3 ]]; then audio=$LONG3; ref=$WORK/long3.turns.tsv; else audio=$SPEECH/$name.wav; ref=$SPEECH/$name.turns.tsv; fi
    transcribe "der-$name" "$audio"
    read -r _ der _ missed _ fa _ conf < <(python3 scripts/der.py "$ref" "$WORK/der-$name.json")
    awk -v n="$(basename "$audio")" -v l="$(soxi -D "$audio")" -v v="$(voices "$ref")" -v s="$(speakers "$WORK/der-$name.json")" \
        -v d="$der" -v m="$missed" -v f="$fa" -v c="$conf" \
        'BEGIN { printf "| %s | %.1f | %d | %d | %.1f%% | %.1f%% | %.1f%% | %.1f%% |\n", n, l, v, s, d*100, m*100, f*100, c*100 }'
done
echo
echo "Target: DER <= 10% on conversation.wav (2 voices) and conversation3.wav (3 voices)."
echo

# ---------------------------------------------------------------- cost
for ((i = 0; i < ROUNDS; i++)); do
    for name in long long3; do
        if [[ $name == long3 ]]; then audio=$LONG3; else audio=$SPEECH/$name.wav; fi
        if ((i % 2 == 0)); then order="off on"; else order="on off"; fi
        for mode in $order; do
            if [[ $mode == off ]]; then
                transcribe "$name-off" "$audio" --no-diarization
            else
                transcribe "$name-on" "$audio"
                diarization_seconds "$WORK/$name-on.json" >>"$WORK/$name-on.dseconds"
            fi
        done
    done
done

echo "### Wall time added by diarization (\`hearingai transcribe\`, $ROUNDS alternating rounds, medians)"
echo
printf '| file | length (s) | wall, --no-diarization (s) | wall, diarization (s) | wall ratio | added wall | CPU off / on (s) | added CPU | diarizing, in metadata (s) | peak RSS off / on (MB) |\n|---|---|---|---|---|---|---|---|---|---|\n'
for name in long long3; do
    if [[ $name == long3 ]]; then audio=$LONG3; label="long.wav ×3"; else audio=$SPEECH/$name.wav; label="long.wav"; fi
    off=$(cut -d' ' -f1 "$WORK/$name-off.times" | median)
    on=$(cut -d' ' -f1 "$WORK/$name-on.times" | median)
    dsec=$(median <"$WORK/$name-on.dseconds")
    rss_off=$(cut -d' ' -f2 "$WORK/$name-off.times" | sort -n | tail -1)
    rss_on=$(cut -d' ' -f2 "$WORK/$name-on.times" | sort -n | tail -1)
    cpu_off=$(cut -d' ' -f3 "$WORK/$name-off.times" | median)
    cpu_on=$(cut -d' ' -f3 "$WORK/$name-on.times" | median)
    awk -v n="$label" -v l="$(soxi -D "$audio")" -v a="$off" -v b="$on" -v d="$dsec" -v r0="$rss_off" -v r1="$rss_on" \
        -v c0="$cpu_off" -v c1="$cpu_on" \
        'BEGIN { printf "| %s | %.0f | %.2f | %.2f | %.3fx | %+.1f%% | %.1f / %.1f | %+.1f%% | %.2f | %.0f / %.0f |\n",
                 n, l, a, b, b / a, (b / a - 1) * 100, c0, c1, (c1 / c0 - 1) * 100, d, r0 / 1024, r1 / 1024 }'
done
echo
echo "Target: at most +10% wall time. CPU is user + system time of the process, steadier than wall"
echo "time on a shared machine; \"diarizing\" is the diarization thread's own time from the JSON"
echo "metadata (it overlaps decoding). Wall times (s), round by round:"
echo
for name in long long3; do
    printf -- '- %s: --no-diarization %s; diarization %s\n' "$name" "$(cut -d' ' -f1 "$WORK/$name-off.times" | paste -sd' ')" "$(cut -d' ' -f1 "$WORK/$name-on.times" | paste -sd' ')"
done
echo
echo "$ROUNDS alternating rounds, $(nproc) cores, default workers and chunking, load average at the end $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)."
