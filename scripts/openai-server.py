#!/usr/bin/env python3
"""A loopback server that speaks OpenAI's audio transcription protocol, for HearingAI's tests
and benchmarks.

    POST <path>  (default /v1/audio/transcriptions), multipart/form-data:
        file=<16 kHz mono 16-bit WAV>, model=..., response_format=verbose_json,
        timestamp_granularities[]=word, timestamp_granularities[]=segment,
        language=... (optional), prompt=... (optional)

It checks the request as strictly as a real server would (and more: the upload must be a
valid 16 kHz mono 16-bit PCM WAV whose data size matches its header), then answers from the
audio it received by running the embedded engine, `pocketsphinx_continuous -time yes`, on it:
real words with real times, so a test can check that they come back on the file's clock.

Faults, consumed in order, one per request (`--fault KIND[xN]`, repeatable):
    429      Too Many Requests with `Retry-After: --retry-after` seconds
    500, 502, 503, 401, 400, 404  that status with an OpenAI-style error body
    hang     sleep --hang-seconds before answering normally (past the client's timeout)
    malformed  200 with a body that is not the protocol's JSON
    loop     the answer ends with a segment that loops ("so so so ...", compression ratio 3.1)
             laid over the last real segment, with its words, as Whisper does when greedy
             decoding gets stuck
    repeat   the last real segment comes twice (the copy over the same time, with its words)
    oversilence  "Thank you for watching." said over the last second of the upload, with words,
             as Whisper writes over silence
    skipahead  for a request with a prompt, only the first segment, with its words: the speech
             after it is left out, as Whisper skips ahead after a prompt now and then (a request
             without a prompt is answered in full, and still consumes the fault)
`--detected-language NAME` is the language answered when a request names none (default
english); a request's own language is answered by name, as OpenAI does.
`--fault malformedx0` means every request. `--no-words` answers without word times (segments
only), as some servers do. `--no-decode` answers an empty transcript without running the
engine: for measuring the client's own per-request overhead.

Every request is logged as one JSON line to `--log` (status, fields, WAV facts, timing), which
the tests read. The chosen port is printed as `listening on PORT` and written to --port-file.
"""

import argparse
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


LANGUAGE_NAMES = {"en": "english", "de": "german", "fr": "french", "es": "spanish"}


class Faults:
    def __init__(self, specs):
        self.queue = []
        self.always = None
        for spec in specs:
            kind, _, count = spec.partition("x")
            count = int(count) if count else 1
            if count == 0:
                self.always = kind
            else:
                self.queue += [kind] * count
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            if self.queue:
                return self.queue.pop(0)
            return self.always


def parse_multipart(body, content_type):
    """Returns {name: [(filename, headers, bytes)]}; raises ValueError on a malformed body."""
    params = {}
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        params[key.lower()] = value.strip('"')
    boundary = params.get("boundary")
    if not boundary:
        raise ValueError("multipart/form-data without a boundary")
    delimiter = b"--" + boundary.encode()
    if not body.startswith(delimiter):
        raise ValueError("body does not start with the boundary")
    if not body.rstrip(b"\r\n").endswith(delimiter + b"--"):
        raise ValueError("body does not end with the closing boundary")
    fields = {}
    for raw in body.split(delimiter)[1:]:
        if raw.startswith(b"--"):
            break
        if not raw.startswith(b"\r\n") or not raw.endswith(b"\r\n"):
            raise ValueError("a part is not framed by CRLF")
        head, sep, content = raw[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part has no header end")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        if not disposition.startswith("form-data"):
            raise ValueError("a part is not form-data")
        attrs = {}
        for item in disposition.split(";")[1:]:
            key, _, value = item.strip().partition("=")
            attrs[key] = value.strip('"')
        if "name" not in attrs:
            raise ValueError("a part has no name")
        fields.setdefault(attrs["name"], []).append((attrs.get("filename"), headers, content))
    return fields


def check_wav(data):
    """Returns (rate, channels, bits, seconds) of a PCM WAV; raises ValueError otherwise."""
    if len(data) < 44 or data[0:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("upload is not a RIFF/WAVE file")
    riff_size = struct.unpack("<I", data[4:8])[0]
    if riff_size != len(data) - 8:
        raise ValueError(f"RIFF size {riff_size} does not match the upload ({len(data) - 8})")
    pos, fmt, pcm = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            if len(body) != size:
                raise ValueError(f"data chunk says {size} bytes, upload holds {len(body)}")
            pcm = body
        pos += 8 + size + (size & 1)
    if fmt is None or pcm is None:
        raise ValueError("WAV without fmt or data chunk")
    tag, channels, rate, byte_rate, align, bits = fmt
    if tag != 1:
        raise ValueError(f"WAV format tag {tag}, not PCM")
    if byte_rate != rate * channels * bits // 8 or align != channels * bits // 8:
        raise ValueError("WAV byte rate or block align inconsistent")
    if len(pcm) % align:
        raise ValueError("WAV data is not a whole number of frames")
    return rate, channels, bits, len(pcm) / byte_rate


def decode(wav_bytes):
    """Runs pocketsphinx_continuous on the upload: (words, segments) with times in seconds."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        tmp.write(wav_bytes)
        tmp.flush()
        out = subprocess.run(
            ["pocketsphinx_continuous", "-infile", tmp.name, "-time", "yes", "-logfn", "/dev/null"],
            capture_output=True, text=True, check=True).stdout
    words, segments, current = [], [], []
    for line in out.splitlines():
        parts = line.split()
        timed = len(parts) == 4
        if timed:
            try:
                start, end = float(parts[1]), float(parts[2])
            except ValueError:
                timed = False
        if not timed:
            # An utterance's text line: the words timed so far belong to it.
            if current:
                segments.append(current)
                current = []
            continue
        token = parts[0]
        if token.startswith("<") or token.startswith("[") or token.startswith("++"):
            continue
        if "(" in token and token.endswith(")"):
            token = token[:token.index("(")]
        word = {"word": token, "start": round(start, 3), "end": round(end, 3)}
        words.append(word)
        current.append(word)
    if current:
        segments.append(current)
    return words, segments


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, payload, headers=None, raw=None):
        """Queues the reply; do_POST sends it once the request is logged."""
        self.reply = (status, payload, headers, raw)

    def flush_reply(self):
        status, payload, headers, raw = self.reply
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, message, code=None, headers=None):
        self.send_json(status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}},
                       headers)
        return status, message

    def do_GET(self):
        self.error(404, f"Invalid URL (GET {self.path})")
        self.flush_reply()

    def do_POST(self):
        server = self.server
        started = time.monotonic()
        entry = {"time": time.time(), "path": self.path}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        entry["bytes"] = len(body)
        status, message = self.handle_request(body, entry)
        entry["status"] = status
        if message:
            entry["message"] = message
        entry["seconds"] = round(time.monotonic() - started, 4)
        # Logged before the reply goes out, so a client that has its answer finds it logged.
        with server.log_lock:
            if server.log:
                server.log.write(json.dumps(entry) + "\n")
                server.log.flush()
        self.flush_reply()

    def handle_request(self, body, entry):
        server = self.server
        if self.path != server.path:
            return self.error(404, f"Invalid URL (POST {self.path})")
        if server.api_key is not None:
            auth = self.headers.get("Authorization", "")
            entry["auth"] = auth == f"Bearer {server.api_key}"
            if not entry["auth"]:
                return self.error(401, "Incorrect API key provided.", "invalid_api_key")
        fault = server.faults.next()
        entry["fault"] = fault
        if fault == "hang":
            time.sleep(server.hang_seconds)
        elif fault == "429":
            return self.error(429, "Rate limit reached for requests", "rate_limit_exceeded",
                              {"Retry-After": str(server.retry_after)})
        elif fault and fault.isdigit():
            return self.error(int(fault), f"Injected fault {fault}")
        try:
            fields = parse_multipart(body, self.headers.get("Content-Type", ""))
        except ValueError as error:
            return self.error(400, f"Malformed multipart body: {error}")
        entry["fields"] = {name: [value.decode("utf-8", "replace") for filename, _, value in parts if filename is None]
                           for name, parts in fields.items() if name != "file"}
        model = fields.get("model", [(None, {}, b"")])[0][2].decode()
        if not model:
            return self.error(400, "you must provide a model parameter")
        if server.model and model != server.model:
            return self.error(404, f"The model `{model}` does not exist", "model_not_found")
        response_format = fields.get("response_format", [(None, {}, b"json")])[0][2].decode()
        granularities = {value.decode() for _, _, value in fields.get("timestamp_granularities[]", [])}
        if granularities and response_format != "verbose_json":
            return self.error(400, "timestamp_granularities requires response_format=verbose_json")
        if "file" not in fields or fields["file"][0][0] is None:
            return self.error(400, "no file part with a filename")
        filename, headers, wav = fields["file"][0]
        entry["filename"] = filename
        entry["file_content_type"] = headers.get("content-type")
        try:
            rate, channels, bits, seconds = check_wav(wav)
        except ValueError as error:
            return self.error(400, f"Invalid file format: {error}")
        entry.update(rate=rate, channels=channels, bits=bits, audio_seconds=round(seconds, 4))
        if (rate, channels, bits) != (16000, 1, 16):
            return self.error(400, f"expected 16 kHz mono 16-bit, got {rate} Hz, {channels} channels, {bits} bits")
        if server.no_decode:
            words, segments = [], []
        else:
            words, segments = decode(wav)
        entry["words"] = len(words)
        if fault == "malformed":
            self.send_json(200, None, raw=b'{"text": "unterminated')
            return 200, "malformed"
        segments = [list(seg) for seg in segments]
        if fault in ("loop", "repeat") and segments:
            last = segments[-1]
            start, end = last[0]["start"], last[-1]["end"]
            if fault == "repeat":
                copy = [dict(w) for w in last]
            else:
                step = (end - start) / 12
                copy = [{"word": "so", "start": round(start + i * step, 3), "end": round(start + (i + 1) * step, 3)}
                        for i in range(12)]
            segments.append(copy)
            words = words + copy
        elif fault == "skipahead" and fields.get("prompt") and len(segments) > 1:
            segments = segments[:1]
            words = list(segments[0])
        elif fault == "oversilence":
            tail = [{"word": w, "start": round(seconds - 1 + i * 0.25, 3), "end": round(seconds - 0.75 + i * 0.25, 3)}
                    for i, w in enumerate(["Thank", "you", "for", "watching."])]
            segments.append(tail)
            words = words + tail
        text = " ".join(w["word"] for w in words)
        payload = {"text": text}
        if response_format == "verbose_json":
            # Like OpenAI: the language by name, the one asked for or the one "detected".
            asked = fields.get("language", [(None, {}, b"")])[0][2].decode()
            payload.update(task="transcribe", language=LANGUAGE_NAMES.get(asked, asked) if asked else server.detected_language,
                           duration=round(seconds, 3))
            if "segment" in granularities or not granularities:
                payload["segments"] = [
                    {"id": i, "seek": 0, "start": seg[0]["start"], "end": seg[-1]["end"],
                     "text": " " + " ".join(w["word"] for w in seg), "tokens": [], "temperature": 0.0,
                     "avg_logprob": -0.2,
                     "compression_ratio": 3.1 if fault == "loop" and i == len(segments) - 1 else 1.2,
                     "no_speech_prob": 0.01}
                    for i, seg in enumerate(segments)]
            if "word" in granularities and not server.no_words:
                payload["words"] = words
        self.send_json(200, payload)
        return 200, None


def main():
    # A parent may have blocked signals (test runners do), and children inherit the mask.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--path", default="/v1/audio/transcriptions")
    parser.add_argument("--api-key", help="require `Authorization: Bearer KEY`")
    parser.add_argument("--model", help="accept only this model (others: 404 model_not_found)")
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--retry-after", type=float, default=1)
    parser.add_argument("--hang-seconds", type=float, default=30)
    parser.add_argument("--no-words", action="store_true")
    parser.add_argument("--detected-language", default="english",
                        help="the language answered when the request names none")
    parser.add_argument("--no-decode", action="store_true")
    parser.add_argument("--log")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.path = args.path
    server.api_key = args.api_key
    server.model = args.model
    server.faults = Faults(args.fault)
    server.retry_after = int(args.retry_after) if args.retry_after == int(args.retry_after) else args.retry_after
    server.hang_seconds = args.hang_seconds
    server.no_words = args.no_words
    server.detected_language = args.detected_language
    server.no_decode = args.no_decode
    server.log = open(args.log, "a") if args.log else None
    server.log_lock = threading.Lock()
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(args.port_file + ".tmp", args.port_file)
    print(f"listening on {port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
