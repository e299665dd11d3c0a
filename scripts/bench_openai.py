#!/usr/bin/env python3
"""Benchmark of the OpenAI-compatible engine against the same loopback server called directly.

Prints two tables (see scripts/bench-openai.sh for what is measured and why). Standard library
only; needs sox, pocketsphinx_continuous and a release build of hearingai.
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_server(args, workdir):
    port_file = os.path.join(workdir, f"port-{uuid.uuid4().hex}")
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts/openai-server.py"), "--port-file", port_file] + args,
                            stdout=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(port_file):
            return proc, int(open(port_file).read())
        time.sleep(0.01)
    raise SystemExit("openai-server.py did not start")


def multipart(wav_bytes, granularities=True):
    boundary = "bench" + uuid.uuid4().hex
    parts = [(b'Content-Disposition: form-data; name="file"; filename="audio.wav"\r\nContent-Type: audio/wav', wav_bytes),
             (b'Content-Disposition: form-data; name="model"', b"whisper-1"),
             (b'Content-Disposition: form-data; name="response_format"', b"verbose_json")]
    if granularities:
        parts += [(b'Content-Disposition: form-data; name="timestamp_granularities[]"', b"word"),
                  (b'Content-Disposition: form-data; name="timestamp_granularities[]"', b"segment")]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + head + b"\r\n\r\n" + value + b"\r\n" for head, value in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


def post_direct(port, wav_paths):
    """POSTs each WAV in turn on one keep-alive connection; returns (seconds, texts)."""
    bodies = [multipart(open(p, "rb").read()) for p in wav_paths]
    connection = http.client.HTTPConnection("127.0.0.1", port)
    texts = []
    started = time.monotonic()
    for body, content_type in bodies:
        connection.request("POST", "/v1/audio/transcriptions", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        payload = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"direct request failed: {response.status} {payload}")
        texts.append(payload["text"])
    seconds = time.monotonic() - started
    connection.close()
    return seconds, " ".join(texts)


def hearingai(binary, port, audio, outdir, extra):
    out = os.path.join(outdir, f"{uuid.uuid4().hex}.json")
    cache = os.path.join(outdir, "cache-" + uuid.uuid4().hex)
    started = time.monotonic()
    subprocess.run([binary, "--engine", "openai", "--base-url", f"http://127.0.0.1:{port}/v1", audio, "-f", "json", "-o", out,
                    "--cache-dir", cache] + extra, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "OPENAI_API_KEY": ""})
    seconds = time.monotonic() - started
    data = json.load(open(out))
    text = " ".join(s["text"] for s in data["segments"])
    return seconds, text, data["metadata"]


def wer(reference, hypothesis):
    ref = [w for w in reference.lower().split()]
    hyp = [w for w in hypothesis.lower().split()]
    previous = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        current = [i] + [0] * len(hyp)
        for j in range(1, len(hyp) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref[i - 1] != hyp[j - 1]))
        previous = current
    return previous[len(hyp)] / max(1, len(ref))


def main():
    binary = sys.argv[1]
    audio = sys.argv[2]
    reference = open(sys.argv[3]).read()
    rounds = int(os.environ.get("ROUNDS", "3"))
    chunk = float(os.environ.get("CHUNK", "10"))
    workdir = tempfile.mkdtemp(prefix="hearingai-bench-openai-")
    whole = os.path.join(workdir, "whole.wav")
    subprocess.run(["sox", audio, "-r", "16000", "-c", "1", "-b", "16", whole], check=True)
    duration = float(subprocess.run(["soxi", "-D", whole], capture_output=True, text=True, check=True).stdout)

    # 1. Per-chunk overhead: an answering server that does not decode, so what is timed is the
    # request path alone. hearingai cuts CHUNK-second chunks (plus overlap) from the file;
    # the direct client posts the same number of WAVs of the same length, pre-cut by sox.
    quick, quick_port = start_server(["--no-decode"], workdir)
    try:
        _, _, meta = hearingai(binary, quick_port, audio, workdir, ["--chunk-size", str(chunk), "--max-workers", "1", "--no-diarization"])
        chunks = meta["chunking"]["chunks"]
        length = duration / chunks + 2 * meta["chunking"]["overlap"]
        pieces = []
        for i in range(chunks):
            piece = os.path.join(workdir, f"piece{i}.wav")
            subprocess.run(["sox", whole, piece, "trim", str(max(0, i * duration / chunks - 1)), str(length)], check=True)
            pieces.append(piece)
        rows = {"direct": [], "hearingai": [], "hearingai_diar": []}
        for r in range(rounds):
            order = ["direct", "hearingai", "hearingai_diar"] if r % 2 == 0 else ["hearingai_diar", "hearingai", "direct"]
            for name in order:
                if name == "direct":
                    rows[name].append(post_direct(quick_port, pieces)[0])
                elif name == "hearingai":
                    rows[name].append(hearingai(binary, quick_port, audio, workdir,
                                                ["--chunk-size", str(chunk), "--max-workers", "1", "--no-diarization"])[0])
                else:
                    rows[name].append(hearingai(binary, quick_port, audio, workdir, ["--chunk-size", str(chunk), "--max-workers", "1"])[0])
    finally:
        quick.terminate()
    direct = statistics.median(rows["direct"])
    print(f"\n## Per-chunk request overhead ({chunks} chunks of {chunk:g} s from {os.path.basename(audio)}, "
          f"{duration:.1f} s; server answers without decoding; 1 worker; median of {rounds})\n")
    print("| client | wall (s) | per chunk (ms) | ratio to direct |")
    print("|---|---|---|---|")
    for name, label in [("direct", "direct: one keep-alive connection, pre-cut WAVs"),
                        ("hearingai", "hearingai (read, resample, chunk, WAV, POST, parse, write)"),
                        ("hearingai_diar", "hearingai, diarization on")]:
        median = statistics.median(rows[name])
        print(f"| {label} | {median:.3f} | {1000 * median / chunks:.1f} | {median / direct:.2f}x |")

    # 2. End to end: the same server decoding (pocketsphinx_continuous on each upload), called
    # directly with the whole file in one request, against hearingai with its default chunking.
    server, port = start_server([], workdir)
    try:
        runs = {"whole": [], "w1": [], "w2": [], "w4": []}
        texts = {}
        for r in range(rounds):
            order = ["whole", "w1", "w2", "w4"] if r % 2 == 0 else ["w4", "w2", "w1", "whole"]
            for name in order:
                if name == "whole":
                    seconds, text = post_direct(port, [whole])
                else:
                    workers = name[1:]
                    seconds, text, _ = hearingai(binary, port, audio, workdir, ["--max-workers", workers])
                runs[name].append(seconds)
                texts[name] = text
    finally:
        server.terminate()
    base = statistics.median(runs["whole"])
    print(f"\n## End to end ({os.path.basename(audio)}, {duration:.1f} s; the server decodes each upload with "
          f"pocketsphinx_continuous; median of {rounds})\n")
    print("| run | wall (s) | ratio to whole file direct | WER |")
    print("|---|---|---|---|")
    for name, label in [("whole", "whole file, one direct request"), ("w1", "hearingai, 1 worker (30 s chunks, diarization on)"),
                        ("w2", "hearingai, 2 workers"), ("w4", "hearingai, 4 workers")]:
        median = statistics.median(runs[name])
        print(f"| {label} | {median:.2f} | {median / base:.2f}x | {100 * wer(reference, texts[name]):.1f}% |")


if __name__ == "__main__":
    main()
