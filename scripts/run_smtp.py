"""A real SMTP server for the tests (aiosmtpd), with a small HTTP API to
read what arrived.

    run_smtp.py SMTP_PORT HTTP_PORT

SMTP on 127.0.0.1:SMTP_PORT accepts every message, except:
  - a recipient whose local part ends in `+tempfail` is refused with 451
    (try again later) the first time each Message-ID is offered, then
    accepted: a sender that retries gets it through;
  - one ending in `+permfail` is refused with 550 every time.

HTTP on 127.0.0.1:HTTP_PORT:
  GET /messages?to=ADDRESS  the messages delivered to ADDRESS, oldest first,
                            as JSON: messageId, from, to, subject, text,
                            html, headers (a few), receivedAt.
  GET /count                 {"count": N}, every message delivered so far.
  GET /health               200 once both servers listen.
"""

import email
import email.policy
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller

LOCK = threading.Lock()
MESSAGES = []  # dicts, in arrival order
REFUSED_ONCE = set()  # Message-IDs refused once with 451


def local_part(address):
    return address.split("@", 1)[0].lower()


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if local_part(address).endswith("+permfail"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message_id = str(msg.get("Message-ID", ""))
        if any(local_part(a).endswith("+tempfail") for a in envelope.rcpt_tos):
            with LOCK:
                if message_id not in REFUSED_ONCE:
                    REFUSED_ONCE.add(message_id)
                    return "451 4.3.0 try again later"
        text = html = None
        for part in msg.walk():
            kind = part.get_content_type()
            if kind == "text/plain" and text is None:
                text = part.get_content()
            elif kind == "text/html" and html is None:
                html = part.get_content()
        record = {
            "messageId": message_id,
            "from": envelope.mail_from,
            "to": [a.lower() for a in envelope.rcpt_tos],
            "subject": str(msg.get("Subject", "")),
            "text": text,
            "html": html,
            "headers": {
                name: str(msg[name])
                for name in ("List-Unsubscribe", "List-Unsubscribe-Post", "From", "To")
                if msg[name] is not None
            },
            "receivedAt": time.time(),
        }
        with LOCK:
            MESSAGES.append(record)
        return "250 Message accepted for delivery"


class Api(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/health":
            return self.reply(200, {"ok": True})
        if url.path == "/count":
            with LOCK:
                return self.reply(200, {"count": len(MESSAGES)})
        if url.path != "/messages":
            return self.reply(404, {"error": "not found"})
        to = parse_qs(url.query).get("to", [""])[0].lower()
        with LOCK:
            found = [m for m in MESSAGES if to in m["to"]]
        self.reply(200, found)

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    smtp_port, http_port = int(sys.argv[1]), int(sys.argv[2])
    controller = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    api = ThreadingHTTPServer(("127.0.0.1", http_port), Api)
    try:
        api.serve_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
