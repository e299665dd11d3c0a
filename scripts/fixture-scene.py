#!/usr/bin/env python3
"""Builds the evaluation fixtures that need sample-exact mixing (used by make-fixtures.sh).

  fixture-scene.py scene SPEC.tsv OUT_PREFIX
      SPEC.tsv rows (no header), tab-separated:
          mode  offset_seconds  gain_db  speaker  turn.wav  text
      mode "after":  the turn starts offset_seconds after the end of the previous "after"
                     turn (negative: it overlaps it); the first starts at offset_seconds.
      mode "within": the turn starts offset_seconds after the start of the previous "after"
                     turn (a backchannel inside it); it does not move the timeline on.
      Every turn.wav is mono 16-bit PCM at one rate; 0.5 s of silence follows the last turn.
      Writes OUT_PREFIX.wav (16-bit, peak-normalised only if the mix would clip),
      OUT_PREFIX.rttm, OUT_PREFIX.turns.tsv (make-fixtures' turn list) and OUT_PREFIX.txt
      (the turns' words in order of start time).

  fixture-scene.py channels SPEC.tsv BLEED_DB OUT_PREFIX
      A studio session of the same SPEC: each speaker on a channel of its own (in order of
      first appearance), every other speaker heard on it BLEED_DB down (a negative number),
      as microphones in one room hear each other. OUT_PREFIX.wav has one channel per
      speaker; the .rttm, .turns.tsv and .txt are those of "scene".

  fixture-scene.py addnoise CLEAN.wav NOISE.wav SNR_DB REF.turns.tsv OUT.wav
      Adds NOISE (looped or cut to length) so that the RMS of CLEAN over its reference
      turns (active speech, not the pauses) is SNR_DB above the RMS of the added noise.
      Scales the sum down only if it would clip, which keeps the ratio.

  fixture-scene.py rttm REF.turns.tsv NAME OUT.rttm
      The RTTM of a turn list (NAME is its file column).

Only the standard library is used; output is byte-for-byte reproducible.
"""
import array
import math
import sys
import wave


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"fixture-scene: {path}: want mono 16-bit PCM")
        rate = w.getframerate()
        data = array.array("h")
        data.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    return rate, data


def write_wav(path, rate, samples, channels=1):
    """samples: floats in 16-bit units, interleaved when channels > 1; scaled down to a 0.9
    peak only if they would clip."""
    peak = max((abs(x) for x in samples), default=0.0)
    scale = 1.0 if peak <= 32767 else 0.9 * 32767 / peak
    out = array.array("h", (int(round(x * scale)) for x in samples))
    if sys.byteorder == "big":
        out.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(out.tobytes())


def secs(n, rate):
    """Exact decimal seconds of n samples (7 decimals: exact at 16 kHz and 8 kHz)."""
    return "%.7f" % (n / rate)


def read_turns(path):
    turns = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f.read().splitlines()):
            cols = line.split("\t")
            if n == 0 and cols[0] == "start_seconds":
                continue
            if line.strip():
                turns.append((float(cols[0]), float(cols[1]), cols[2], cols[3] if len(cols) > 3 else ""))
    return turns


def rttm_lines(name, turns):
    return "".join(
        "SPEAKER %s 1 %.7f %.7f <NA> <NA> %s <NA> <NA>\n" % (name, s, e - s, spk) for s, e, spk, _ in turns
    )


def scene(spec, prefix, bleed_db=None):
    rows = []
    with open(spec, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.strip():
                mode, offset, gain, speaker, path, text = line.split("\t")
                rows.append((mode, float(offset), float(gain), speaker, path, text))
    rate = None
    placed = []  # (start sample, samples, gain, speaker, text)
    prev_start = prev_end = 0
    for i, (mode, offset, gain, speaker, path, text) in enumerate(rows):
        r, data = read_wav(path)
        if rate is None:
            rate = r
        elif r != rate:
            sys.exit(f"fixture-scene: {path}: {r} Hz, the scene is {rate} Hz")
        shift = int(round(offset * rate))
        if mode == "after":
            start = shift if i == 0 else prev_end + shift
            prev_start, prev_end = start, start + len(data)
        elif mode == "within":
            start = prev_start + shift
        else:
            sys.exit(f"fixture-scene: {spec}: unknown mode {mode}")
        if start < 0:
            sys.exit(f"fixture-scene: {spec}: turn {i + 1} starts before 0")
        placed.append((start, data, 10 ** (gain / 20), speaker, text))
    total = max(s + len(d) for s, d, _, _, _ in placed) + rate // 2
    if bleed_db is None:
        mix = [0.0] * total
        for start, data, g, _, _ in placed:
            for j, x in enumerate(data):
                mix[start + j] += x * g
        write_wav(prefix + ".wav", rate, mix)
    else:
        speakers = []
        for _, _, _, spk, _ in placed:
            if spk not in speakers:
                speakers.append(spk)
        n = len(speakers)
        bleed = 10 ** (bleed_db / 20)
        mix = [0.0] * (total * n)
        for start, data, g, spk, _ in placed:
            own = speakers.index(spk)
            gains = [g if c == own else g * bleed for c in range(n)]
            for j, x in enumerate(data):
                base = (start + j) * n
                for c in range(n):
                    mix[base + c] += x * gains[c]
        write_wav(prefix + ".wav", rate, mix, channels=n)
    turns = sorted(((s, s + len(d), spk, t) for s, d, _, spk, t in placed), key=lambda t: (t[0], t[1]))
    name = prefix.rsplit("/", 1)[-1]
    with open(prefix + ".turns.tsv", "w", encoding="utf-8") as f:
        f.write("start_seconds\tend_seconds\tspeaker_voice\ttext\n")
        for s, e, spk, t in turns:
            f.write(f"{secs(s, rate)}\t{secs(e, rate)}\t{spk}\t{t}\n")
    with open(prefix + ".rttm", "w", encoding="utf-8") as f:
        f.write(rttm_lines(name, [(s / rate, e / rate, spk, t) for s, e, spk, t in turns]))
    with open(prefix + ".txt", "w", encoding="utf-8") as f:
        f.write(" ".join(t for _, _, _, t in turns) + "\n")


def addnoise(clean_path, noise_path, snr_db, ref, out):
    rate, clean = read_wav(clean_path)
    nrate, noise = read_wav(noise_path)
    if nrate != rate:
        sys.exit(f"fixture-scene: {noise_path}: {nrate} Hz, {clean_path} is {rate} Hz")
    active = [0] * len(clean)
    for s, e, _, _ in read_turns(ref):
        for i in range(max(0, int(s * rate)), min(len(clean), int(e * rate))):
            active[i] = 1
    n_active = sum(active)
    p_speech = sum(x * x for x, a in zip(clean, active) if a) / n_active
    looped = [noise[i % len(noise)] for i in range(len(clean))]
    p_noise = sum(x * x for x in looped) / len(looped)
    k = math.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    write_wav(out, rate, [c + k * n for c, n in zip(clean, looped)])


def main(argv):
    if len(argv) == 3 and argv[0] == "scene":
        scene(argv[1], argv[2])
    elif len(argv) == 4 and argv[0] == "channels":
        scene(argv[1], argv[3], bleed_db=float(argv[2]))
    elif len(argv) == 6 and argv[0] == "addnoise":
        addnoise(argv[1], argv[2], float(argv[3]), argv[4], argv[5])
    elif len(argv) == 4 and argv[0] == "rttm":
        with open(argv[3], "w", encoding="utf-8") as f:
            f.write(rttm_lines(argv[2], read_turns(argv[1])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
