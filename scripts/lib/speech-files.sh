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
