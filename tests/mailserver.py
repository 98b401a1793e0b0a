"""A real SMTP server in the test process (aiosmtpd, on a free port of 127.0.0.1) that keeps what arrives,
and servers that misbehave: one that refuses every recipient, one that accepts the connection and never
answers."""
from __future__ import annotations

import email
import socket
from dataclasses import dataclass
from email.message import Message

from tests.conftest import require


@dataclass(frozen=True)
class Received:
    mail_from: str
    to: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(email.header.make_header(email.header.decode_header(self.message["Subject"])))

    @property
    def body(self) -> str:
        text = self.message.get_payload(decode=True).decode(self.message.get_content_charset() or "utf-8")
        return text.replace("\r\n", "\n")  # SMTP sends CRLF


class Handler:
    def __init__(self, refuse: bool = False) -> None:
        self.received: list[Received] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      email.message_from_bytes(envelope.original_content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """``with SmtpServer() as smtp:`` … ``smtp.url`` for KONSEKVENS_SMTP_URL, ``smtp.received``."""

    def __init__(self, *, refuse: bool = False, port: int | None = None, **smtp_parameters) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            Controller = None  # noqa: N806
        require(Controller is not None, "aiosmtpd is not installed (pip install -e '.[test]')")
        from tests.services import free_port

        self.handler = Handler(refuse)
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **smtp_parameters)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def url(self, query: str = "") -> str:
        return f"smtp://127.0.0.1:{self.port}{'?' + query if query else ''}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class SilentServer:
    """Accepts connections (the kernel's backlog) and never says a word: a hung mail server."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.port = self.socket.getsockname()[1]

    def url(self, query: str = "") -> str:
        return f"smtp://127.0.0.1:{self.port}{'?' + query if query else ''}"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc) -> None:
        self.socket.close()
