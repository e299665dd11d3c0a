#!/usr/bin/env python3
"""A loopback webhook receiver for HearingAI's tests: the other end of `--webhook-url`.

    POST <any path>, application/json, with X-HearingAI-Event, X-HearingAI-Event-ID and
    X-HearingAI-Signature: sha256=<hex HMAC-SHA256 of the body under the secret>

It checks each signature with Python's own `hmac` (so the test does not check HearingAI's
HMAC against itself), answers `--status` (default 200; `--redirect URL` answers 302 to it),
after `--delay` seconds if given, and logs every request (on arrival) as one JSON line to `--log`: the headers above, the body as text,
whether the signature verified, and the status answered. A receiver that verifies and
de-duplicates on the event id does what this one's log lets the tests check.

The chosen port is written to --port-file. `--port N` binds that port again (SO_REUSEADDR),
so a test can stop the receiver and bring it back where the service is sending.
"""

import argparse
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--log", required=True)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--redirect")
    parser.add_argument("--delay", type=float, default=0, help="seconds to wait before answering (a slow receiver)")
    args = parser.parse_args()
    with open(args.secret_file, "rb") as f:
        secret = f.read().split(b"\n")[0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            signature = self.headers.get("X-HearingAI-Signature", "")
            expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            status = 302 if args.redirect else args.status
            entry = {
                "time": time.time(),
                "path": self.path,
                "event": self.headers.get("X-HearingAI-Event"),
                "event_id": self.headers.get("X-HearingAI-Event-ID"),
                "signature": signature,
                "signature_ok": hmac.compare_digest(signature, expected),
                "content_type": self.headers.get("Content-Type"),
                "body": body.decode("utf-8", "replace"),
                "status": status,
            }
            with lock, open(args.log, "a") as log:
                log.write(json.dumps(entry) + "\n")
            time.sleep(args.delay)
            self.send_response(status)
            if args.redirect:
                self.send_header("Location", args.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
