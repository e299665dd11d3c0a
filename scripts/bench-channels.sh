#!/usr/bin/env bash
# Speakers from channels (issue 13), after `make release fixtures`. Prints a Markdown table,
# one row per studio session:
#
#   * DER (0.25 s collar, scripts/der.py) and speakers found of `hearingai transcribe
#     --speaker-per-channel`, against the reference: the same binary labelling speakers by
#     voice on the same file, with no hint and with --speakers N;
#   * WER of the transcript the engine makes from the mix (what --speaker-per-channel writes)
#     and of each channel transcribed alone (`sox remix N`, `--no-diarization`), its words
#     kept where that channel's turns say it spoke and merged in time order: the issue asks
#     for both, to keep the better;
#   * the seconds spent on diarization by each mode (metadata.diarization.seconds).
#
# Files: fixtures/studio (flite voices, one per channel, -20 dB bleed, overlapping turns), and
# harder variants made here with sox: each microphone's own pink noise (independent per
# channel, -59 dBFS RMS, about 40 dB under the speech), reverberation on each channel (sox reverb, stereo
# depth 0), one diffuse room field shared by both channels and as loud as the direct sound
# (sox reverb's stereo depth 100: distant microphones in a live room), and bleed raised to
# -8 dB (lavaliers side by side) by mixing each channel with the other 10 dB down.
#
#   scripts/bench-channels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/hearingai}
FX=${FIXTURES:-fixtures}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[[ -x $BIN ]] || { echo "build first: make release (or BIN=path)" >&2; exit 1; }
[[ -f $FX/studio/duo-2ch.rttm ]] || { echo "make fixtures first" >&2; exit 1; }
for tool in python3 sox soxi; do
    command -v "$tool" >/dev/null || { echo "missing $tool: make test-deps" >&2; exit 1; }
done

# The variants: NAME SOURCE and sox effects; the references are the source's.
mkdir -p "$WORK/in"
for f in duo-2ch duo-2ch-gain8 quad-4ch; do
    cp "$FX/studio/$f.wav" "$WORK/in/$f.wav"
    cp "$FX/studio/$f.rttm" "$WORK/in/$f.rttm"
    cp "$FX/studio/$f.txt" "$WORK/in/$f.txt"
done
variant() {
    local name=$1 source=$2
    shift 2
    sox -R -D "$WORK/in/$source.wav" "$WORK/in/$name.wav" "$@"
    cp "$WORK/in/$source.rttm" "$WORK/in/$name.rttm"
    cp "$WORK/in/$source.txt" "$WORK/in/$name.txt"
}
# Independent noise per channel: a noise file of as many channels, each its own generator.
noisy() {
    local name=$1 source=$2 channels len
    channels=$(soxi -c "$WORK/in/$source.wav") len=$(soxi -D "$WORK/in/$source.wav")
    sox -R -n -r 16000 -c "$channels" -b 16 "$WORK/noise-$source.wav" synth "$len" pinknoise vol 0.0056
    sox -R -D -m "$WORK/in/$source.wav" "$WORK/noise-$source.wav" "$WORK/in/$name.wav"
    cp "$WORK/in/$source.rttm" "$WORK/in/$name.rttm"
    cp "$WORK/in/$source.txt" "$WORK/in/$name.txt"
}
noisy duo-2ch-noise duo-2ch
noisy quad-4ch-noise quad-4ch
variant duo-2ch-reverb duo-2ch reverb 50 50 60 0     # each channel its own reverberation
variant duo-2ch-room duo-2ch reverb 50 50 60 100      # one diffuse room field on both, as loud as the voices
variant duo-2ch-bleed8 duo-2ch remix 1,2v0.316 2,1v0.316

NAMES=(duo-2ch duo-2ch-gain8 quad-4ch duo-2ch-noise quad-4ch-noise duo-2ch-reverb duo-2ch-room duo-2ch-bleed8)
speakers() { python3 -c 'import json,sys; print(len({t["speaker"] for t in json.load(open(sys.argv[1])).get("speakerTurns", [])}))' "$1"; }
seconds() { python3 -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["metadata"]["diarization"]["seconds"])' "$1"; }
der() { python3 scripts/der.py "$1" "$2" | awk '{print $2}'; }
pct() { awk -v x="$1" 'BEGIN { printf "%.1f%%", x * 100 }'; }

START=$(date +%s)
ROWS=()
for name in "${NAMES[@]}"; do
    audio=$WORK/in/$name.wav ref=$WORK/in/$name.rttm txt=$WORK/in/$name.txt
    channels=$(soxi -c "$audio")
    n=$(awk '{print $8}' "$ref" | sort -u | wc -l)
    "$BIN" transcribe "$audio" --speaker-per-channel -f json,txt -o "$WORK/$name-chan/" --cache-dir "$WORK/cache" >/dev/null 2>"$WORK/err" ||
        { cat "$WORK/err" >&2; exit 1; }
    "$BIN" transcribe "$audio" -f json -o "$WORK/$name-voice.json" --cache-dir "$WORK/cache" >/dev/null 2>"$WORK/err" ||
        { cat "$WORK/err" >&2; exit 1; }
    "$BIN" transcribe "$audio" --speakers "$n" -f json -o "$WORK/$name-hint.json" --cache-dir "$WORK/cache" >/dev/null 2>"$WORK/err" ||
        { cat "$WORK/err" >&2; exit 1; }
    # Each channel alone, its words kept inside its own turns from the channel run.
    for ((c = 1; c <= channels; c++)); do
        sox -R -D "$audio" "$WORK/$name-ch$c.wav" remix "$c"
        "$BIN" transcribe "$WORK/$name-ch$c.wav" --no-diarization -f json -o "$WORK/$name-ch$c.json" --cache-dir "$WORK/cache" \
            >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    done
    python3 - "$WORK/$name-chan/$name.json" "$channels" "$WORK/$name" >"$WORK/$name-perchannel.txt" <<'EOF'
import json, sys
chan, channels, prefix = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
turns = chan["speakerTurns"]
words = []
for c in range(1, channels + 1):
    mine = [t for t in turns if t["speaker"] == "Speaker %d" % c]
    for seg in json.load(open("%s-ch%d.json" % (prefix, c)))["segments"]:
        for w in seg["words"]:
            mid = (w["start"] + w["end"]) / 2
            if any(t["start"] - 0.2 <= mid <= t["end"] + 0.2 for t in mine):
                words.append((w["start"], w["text"]))
print(" ".join(t for _, t in sorted(words)))
EOF
    wer_mix=$(python3 scripts/wer.py "$txt" "$WORK/$name-chan/$name.txt")
    wer_each=$(python3 scripts/wer.py "$txt" "$WORK/$name-perchannel.txt")
    ROWS+=("| $name | $channels | $n | $(pct "$(der "$ref" "$WORK/$name-chan/$name.json")") | $(speakers "$WORK/$name-chan/$name.json") | $(pct "$(der "$ref" "$WORK/$name-voice.json")") | $(speakers "$WORK/$name-voice.json") | $(pct "$(der "$ref" "$WORK/$name-hint.json")") | $(pct "$wer_mix") | $(pct "$wer_each") | $(seconds "$WORK/$name-chan/$name.json") / $(seconds "$WORK/$name-voice.json") |")
    echo "bench-channels: $name done" >&2
done
ELAPSED=$(($(date +%s) - START))

echo "### Speakers from channels (\`scripts/bench-channels.sh\`)"
echo
echo "| file | channels | speakers | DER, --speaker-per-channel | found | DER, by voice | found | DER, by voice --speakers N | WER, mix | WER, each channel alone | diarization s, channels / voice |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "DER: 0.25 s collar, optimal speaker mapping, overlapped speech scored per speaker (scripts/der.py). WER: scripts/wer.py."
echo "${#NAMES[@]} files, $ELAPSED s; $(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)."
