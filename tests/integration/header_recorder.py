#!/usr/bin/env python3
"""An HTTP backend that records what the server in front of it forwarded:
each request's headers, as one JSON object per line in LOG, then answers
200 "recorded".  Used to check the identity headers a generated nginx,
Apache or HAProxy configuration passes on, and that a client's own copies
never get through.

usage: header_recorder.py PORT LOG
"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, logpath = int(sys.argv[1]), sys.argv[2]


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        # A list of pairs: a repeated header must show up twice.
        with open(logpath, "a") as f:
            f.write(json.dumps({"path": self.path,
                                "headers": list(self.headers.items())}) + "\n")
        body = b"recorded\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A proxy closing its idle keep-alive connection with a reset is
        # not an error worth a traceback in the test log.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


Server(("127.0.0.1", port), Recorder).serve_forever()
