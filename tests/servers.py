"""Real servers on loopback for the notification channels: an SMTP server (aiosmtpd)
and an HTTP recorder answering the Twilio REST API the way Twilio does."""

import asyncio
import json
import threading
import uuid
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from workers.embedded import free_port


class SmtpInbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse_next = 0  # answer this many DATA commands with a temporary failure
        self.gate: threading.Event | None = None  # when set here, DATA waits until it opens
        self.port = free_port()
        # Named, so each connection does not look the host name up (a DNS round trip).
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="smtp.test"
        )

    async def handle_DATA(self, server, session, envelope) -> str:
        while self.gate is not None and not self.gate.is_set():
            await asyncio.sleep(0.02)
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 temporary failure, try again"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def start(self) -> "SmtpInbox":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


class TwilioRecorder:
    """Records Messages.json and Calls.json posts; can fail the next N with a 500."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next = 0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if recorder.fail_next:
                    recorder.fail_next -= 1
                    self._answer(500, {"code": 20500, "message": "internal error", "status": 500})
                    return
                kind = "call" if self.path.endswith("/Calls.json") else "message"
                sid = ("CA" if kind == "call" else "SM") + uuid.uuid4().hex
                recorder.requests.append({"kind": kind, "path": self.path, **form})
                self._answer(201, {"sid": sid, "status": "queued", "to": form.get("To")})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def of_kind(self, kind: str) -> list[dict]:
        return [r for r in self.requests if r["kind"] == kind]

    def start(self) -> "TwilioRecorder":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
