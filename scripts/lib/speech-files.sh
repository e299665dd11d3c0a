# Distinct flite speech files for the scripts that drop many files into a service
# (bench-small-files.sh, soak-kill.sh). Source it; needs flite, sox, soxi and python3.
#
#   speech_file VOICE TEXT SECONDS I OUT
#       OUT: voice VOICES[VOICE] reading TEXTS[TEXT] (and the text after it), repeated and cut
#       (or padded with silence) to SECONDS, 16 kHz mono 16-bit, then I samples of silence
#       more, so that every I gives distinct content (a distinct SHA-256: the result store
#       never answers) with the same speech. The flite and cut steps are cached in
#       SPEECH_CACHE (default: a directory beside OUT).

calc() { python3 -c "print($1)"; }

TEXTS=(
    "the quick brown fox jumps over the lazy dog"
    "please call stella and ask her to bring these things with her from the store"
    "six spoons of fresh snow peas five thick slabs of blue cheese and maybe a snack for her brother bob"
    "we also need a small plastic snake and a big toy frog for the kids"
    "she can scoop these things into three red bags and we will go meet her wednesday at the train station"
    "when the sunlight strikes raindrops in the air they act as a prism and form a rainbow"
    "the rainbow is a division of white light into many beautiful colors"
    "these take the shape of a long round arch with its path high above"
)
VOICES=(slt rms awb kal16)

speech_file() {
    local v=$1 t=$2 seconds=$3 i=$4 out=$5
    local cache=${SPEECH_CACHE:-$(dirname "$out")/.speech-cache}
    mkdir -p "$cache"
    local raw=$cache/raw-$v-$t.wav base=$cache/$seconds-$v-$t.wav
    if [[ ! -f $base ]]; then
        [[ -f $raw ]] || flite -voice "${VOICES[$v]}" -t "${TEXTS[$t]}. ${TEXTS[$(( (t + 1) % ${#TEXTS[@]} ))]}." -o "$raw"
        local reps parts=()
        reps=$(calc "int($seconds / max(0.1, $(soxi -D "$raw"))) + 1")
        for _ in $(seq "$reps"); do parts+=("$raw"); done
        sox -V1 "${parts[@]}" -r 16000 -c 1 -b 16 "$base" trim 0 "$seconds" pad 0 "$seconds" trim 0 "$seconds"
    fi
    sox -V1 "$base" "$out" pad 0 "${i}s"
}

# soak_files_and_clean_run (the kill -9 soaks: soak-kill.sh, soak-cluster.sh)
#   Uses ROOT, PER_LENGTH, LENGTHS, SEED, BIN and `log`. Makes PER_LENGTH distinct files of each
#   length in ROOT/files (sSS-II.wav), lists them in FILES shuffled by SEED (TOTAL of them, AUDIO
#   seconds in all), and transcribes each once with `hearingai transcribe` into
#   ROOT/clean/STEM.txt (the clean run the soaks compare with), timing it in CLEAN_SECONDS.
soak_files_and_clean_run() {
    log "making $PER_LENGTH files of each of $LENGTHS s in $ROOT/files"
    local seconds i name start
    for seconds in $LENGTHS; do
        for i in $(seq 1 "$PER_LENGTH"); do
            SPEECH_CACHE=$ROOT/base speech_file $(( i % ${#VOICES[@]} )) $(( (i * 3 + seconds) % ${#TEXTS[@]} )) "$seconds" "$i" \
                "$ROOT/files/s$(printf %02d "$seconds")-$(printf %02d "$i").wav"
        done
    done
    mapfile -t FILES < <(cd "$ROOT/files" && ls ./*.wav | sed 's|^\./||' | python3 -c "
import random, sys
names = [l.strip() for l in sys.stdin]
random.Random($SEED).shuffle(names)
print('\n'.join(names))")
    TOTAL=${#FILES[@]}
    AUDIO=$(python3 -c "print(sum(int(x) for x in '$LENGTHS'.split()) * $PER_LENGTH)")
    log "clean run: hearingai transcribe on each of $TOTAL files ($AUDIO s of audio)"
    start=$(date +%s)
    for name in "${FILES[@]}"; do
        "$BIN" transcribe "$ROOT/files/$name" -f txt -o "$ROOT/clean/${name%.wav}.txt" --cache-dir "$ROOT/cache" \
            >/dev/null 2>>"$ROOT/logs/clean.stderr"
    done
    CLEAN_SECONDS=$(( $(date +%s) - start ))
    log "clean run took ${CLEAN_SECONDS} s"
}
