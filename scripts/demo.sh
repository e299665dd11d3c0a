#!/usr/bin/env bash
# The main job on embedded defaults: start `hearingai watch` on folders under ./demo, drop a
# generated 48 kHz 24-bit stereo recording into the inbox, and show the transcript that
# appears in the outbox. On a terminal the service keeps running (Ctrl-C stops it); otherwise
# it is stopped once the transcript is there.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/hearingai
ROOT=${DEMO_DIR:-demo}
mkdir -p "$ROOT"

"$BIN" watch --inbox "$ROOT/inbox" --outbox "$ROOT/outbox" --processed "$ROOT/processed" \
    --failed "$ROOT/failed" --database "$ROOT/queue.sqlite" --formats txt,json,srt &
service=$!
trap 'kill -TERM $service 2>/dev/null; wait $service 2>/dev/null || true' EXIT

# A studio-style file, written beside the inbox and renamed in, as a careful writer does.
flite -voice slt -t "Welcome to the studio. Drop your recordings in the folder and read what was said." -o "$ROOT/.welcome.wav"
sox "$ROOT/.welcome.wav" -r 48000 -b 24 -c 2 "$ROOT/.welcome-48k.wav"
rm -f "$ROOT/.welcome.wav" "$ROOT"/outbox/welcome.*
sleep 1
mv "$ROOT/.welcome-48k.wav" "$ROOT/inbox/welcome.wav"

for _ in $(seq 1 240); do
    [[ -f $ROOT/outbox/welcome.txt ]] && break
    sleep 0.5
done
[[ -f $ROOT/outbox/welcome.txt ]] || { echo "demo: no transcript after 2 minutes" >&2; exit 1; }
echo
echo "--- $ROOT/outbox/welcome.txt"
cat "$ROOT/outbox/welcome.txt"
echo
echo "---"
if [[ -t 0 ]]; then
    echo "The service is running: drop audio files into $ROOT/inbox, transcripts appear in $ROOT/outbox."
    echo "Queue: $BIN status --database $ROOT/queue.sqlite    Stop: Ctrl-C"
    trap - EXIT
    trap 'kill -TERM $service' INT TERM
    wait $service || true
fi
