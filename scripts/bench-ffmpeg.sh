#!/usr/bin/env bash
# bench-ffmpeg.sh [FIXTURES]
#
# Files read through FFmpeg, per container, against `ffmpeg -i X -f null -` alone (decoding
# only): HearingAI's decode path (ffprobe, then ffmpeg with HearingAI's exact arguments to
# s16le 16 kHz mono through a pipe) and HearingAI's whole transcription, with the peak
# resident memory of each process tree (HearingAI + ffmpeg, sampled every 10 ms from /proc)
# against the memory limit; then FFmpeg's own footprint per codec (the kernel's count at
# exit, as HearingAI reserves it). Prints markdown tables for docs/benchmarks.md.
#
# HEARINGAI_BINARY (default: the release build if there is one, else the debug build),
# LIMIT_MB (default 300), WORKERS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
FIXTURES=$(realpath "${1:-fixtures}")
BIN=${HEARINGAI_BINARY:-$( [[ -x .build/release/hearingai ]] && echo .build/release/hearingai || echo .build/debug/hearingai )}
BIN=$(realpath "$BIN")
LIMIT_MB=${LIMIT_MB:-300}
WORKERS=${WORKERS:-2}
for tool in ffmpeg ffprobe python3; do command -v "$tool" >/dev/null || { echo "bench-ffmpeg: missing $tool" >&2; exit 1; }; done
[[ -d $FIXTURES/media ]] || { echo "bench-ffmpeg: no $FIXTURES/media: run scripts/make-fixtures.sh $FIXTURES" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Three minutes of speech as a voice memo and as a meeting recording with video, so that
# decoding is more than FFmpeg's start-up.
LONG=$FIXTURES/speech/long.wav
ffmpeg -nostdin -loglevel error -i "$LONG" -c:a aac -b:a 64k "$WORK/long.m4a"
ffmpeg -nostdin -loglevel error -f lavfi -i color=c=black:s=320x240:r=25 -i "$LONG" -map 0:v -map 1:a -shortest \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 64k "$WORK/long.mp4"

# run.py CMD...: runs CMD, samples the resident memory of it and its descendants every 10 ms;
# prints "WALL_SECONDS PEAK_TREE_MB EXIT_STATUS".
cat >"$WORK/run.py" <<'PY'
import os, subprocess, sys, time
page = os.sysconf("SC_PAGE_SIZE")
def tree_rss(root):
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            total += int(open(f"/proc/{pid}/statm").read().split()[1]) * page
        except OSError:
            pass
        pending += [child for child, parent in parents.items() if parent == pid]
    return total
start = time.monotonic()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
peak = 0
while child.poll() is None:
    peak = max(peak, tree_rss(child.pid))
    time.sleep(0.01)
print(f"{time.monotonic() - start:.2f} {peak / 1048576:.1f} {child.returncode}")
PY

seconds() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }

echo "Machine: $(nproc) cores (shared with other builds and tests), $(free -m | awk '/Mem:/{print $2}') MB; $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
echo "HearingAI: $BIN, --max-workers $WORKERS --memory-limit $LIMIT_MB --no-diarization"
echo
# HearingAI's arguments (FFmpegTools.inputArguments and FFmpegDecoder).
DEMUXERS=aac,ac3,aiff,amr,amrnb,amrwb,ape,asf,au,avi,caf,dsf,dts,dtshd,dv,eac3,flac,flv,g722,g723_1,g729,gsm,ilbc,loas,matroska,mlp,mov,mp3,mpc,mpc8,mpeg,mpegts,mxf,nut,ogg,oma,qcp,rm,shn,tak,truehd,tta,voc,w64,wav,wtv,wv,xwma
path_of() {
    echo "ffprobe -hide_banner -loglevel error -of json -show_entries format=format_name,format_long_name,duration:stream=index,codec_type,codec_name,codec_long_name,sample_rate,channels,duration:stream_tags=language,title -protocol_whitelist file -format_whitelist $DEMUXERS -i file:$1 >/dev/null && ffmpeg -nostdin -hide_banner -nostats -loglevel error -protocol_whitelist file -format_whitelist $DEMUXERS -i file:$1 -map 0:a:0 -vn -sn -dn -af aresample=16000:resampler=soxr -ac 1 -ar 16000 -c:a pcm_s16le -f s16le pipe:1 | cat >/dev/null"
}

echo "| file | audio s | ffmpeg alone: s | peak MB | HearingAI's decode path: s | ratio | HearingAI transcribing: s | x real time | tree peak MB (limit $LIMIT_MB) | FFmpeg child peak MB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for f in "$WORK/long.m4a" "$WORK/long.mp4" "$FIXTURES"/media/{aac.m4a,h264.mp4,video.mov,opus.mkv,vp8.webm,wma.wma,amr.amr}; do
    name=$(basename "$f")
    audio=$(seconds "$f")
    read -r ff_s ff_mb ff_rc < <(python3 "$WORK/run.py" ffmpeg -nostdin -loglevel error -i "$f" -f null -)
    read -r path_s _ path_rc < <(python3 "$WORK/run.py" bash -c "$(path_of "$f")")
    out=$WORK/out-$name
    mkdir -p "$out"
    read -r hai_s hai_mb hai_rc < <(python3 "$WORK/run.py" "$BIN" transcribe "$f" -o "$out/" -f json \
        --max-workers "$WORKERS" --memory-limit "$LIMIT_MB" --no-diarization --cache-dir "$WORK/cache")
    [[ $ff_rc == 0 && $path_rc == 0 && $hai_rc == 0 ]] || { echo "bench-ffmpeg: $name failed (ffmpeg $ff_rc, path $path_rc, hearingai $hai_rc)" >&2; exit 1; }
    child=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["memory"].get("ffmpegPeakRSSMB", "-"))' "$out/${name%.*}.json")
    printf '| %s | %.1f | %s | %s | %s | %.2f | %s | %.1f | %s | %s |\n' "$name" "$audio" "$ff_s" "$ff_mb" "$path_s" \
        "$(python3 -c "print($path_s / $ff_s)")" "$hai_s" "$(python3 -c "print($audio / $hai_s)")" "$hai_mb" "$child"
done

echo
echo "FFmpeg's footprint as HearingAI runs it (decode to s16le 16 kHz mono on a pipe), per codec: the kernel's peak RSS at exit (/usr/bin/time -f %M), and the least RLIMIT_AS it decodes under (to 16 MB):"
echo
echo "| codec (file) | peak RSS MB | least address space MB |"
echo "|---|---|---|"
for f in "$FIXTURES"/media/{aac.m4a,h264.mp4,opus.mkv,vp8.webm,wma.wma,amr.amr}; do
    codec=$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$f")
    args=(-nostdin -hide_banner -nostats -loglevel error -i "$f" -map 0:a:0 -vn -sn -dn -af aresample=16000:resampler=soxr -ac 1 -ar 16000 -c:a pcm_s16le -f s16le pipe:1)
    /usr/bin/time -f %M -o "$WORK/rss" ffmpeg "${args[@]}" >/dev/null 2>&1
    rss=$(tail -1 "$WORK/rss")
    least=-
    for mb in $(seq 192 16 512); do
        if prlimit --as=$((mb * 1048576)) ffmpeg "${args[@]}" >/dev/null 2>&1; then least=$mb; break; fi
    done
    printf '| %s (%s) | %.1f | %s |\n' "$codec" "$(basename "$f")" "$(python3 -c "print($rss / 1024)")" "$least"
done
