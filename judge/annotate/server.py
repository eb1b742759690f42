"""The annotation page's server: loopback only, one annotator's session, nothing fetched from outside.

``serve(session, port)`` binds 127.0.0.1 (never another interface) and answers:

    GET  /                    the page (judge/annotate/page.py)
    GET  /api/state           {"total", "done", "resume"}
    GET  /api/item/<n>        the item at position n of the session's order, blind (session.item)
    POST /api/label           {"position", "label" (0-4 or null), "amplification" (0-4, two-sided
                              rubrics), "note", "seconds"} -> the new state

A label is appended to the labels file, flushed and fsynced before the reply, so a label the page
shows as saved is on disk. Requests are refused unless their Host header names this loopback
address (a page elsewhere cannot reach the server through a rebinding DNS name), and a POST must
carry the session's random token in a header (a page elsewhere cannot send one without the
browser asking first, which this server never allows).
"""

from __future__ import annotations

import json
import re
import secrets
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from judge.annotate.page import render_page
from judge.annotate.session import Session

TOKEN_HEADER = "X-Annotate-Token"
ITEM = re.compile(r"^/api/item/(\d+)$")
MAX_BODY = 1 << 20


class AnnotationServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, session: Session, port: int = 0) -> None:
        self.session = session
        self.token = secrets.token_urlsafe(24)
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(BaseHTTPRequestHandler):
    server: AnnotationServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the command prints its own lines

    def _host_ok(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def do_GET(self) -> None:
        if not self._host_ok():
            return self._error(HTTPStatus.FORBIDDEN, "wrong host")
        session = self.server.session
        if self.path == "/":
            page = render_page(session.rubric_view(), session.state(), self.server.token, session.annotator)
            return self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")
        if self.path == "/api/state":
            return self._json(session.state())
        match = ITEM.match(self.path)
        if match:
            try:
                return self._json(session.item(int(match.group(1))))
            except IndexError:
                return self._error(HTTPStatus.NOT_FOUND, "no item at that position")
        return self._error(HTTPStatus.NOT_FOUND, "not found")

    def do_POST(self) -> None:
        if not self._host_ok() or self.headers.get(TOKEN_HEADER) != self.server.token:
            return self._error(HTTPStatus.FORBIDDEN, "missing or wrong token")
        if self.path != "/api/label":
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            return self._error(HTTPStatus.BAD_REQUEST, "empty or oversized body")
        try:
            body = json.loads(self.rfile.read(length))
            position, label = body["position"], body.get("label")
            note = body.get("note")
            state = self.server.session.record(
                int(position), label, note if isinstance(note, str) else None, body.get("seconds"),
                body.get("amplification"),
            )
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            return self._error(HTTPStatus.BAD_REQUEST, f"bad label: {exc}")
        except OSError as exc:  # the labels file could not be written: the page keeps the label and says so
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"could not save: {exc}")
        return self._json(state)
