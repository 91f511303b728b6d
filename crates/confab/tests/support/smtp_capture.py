"""A real SMTP server for Confab's e-mail tests (aiosmtpd from PyPI).

Writes every accepted message to DIR as NNNN.eml, prefixed with an
`X-RcptTo:` line per recipient. With --reject-first N, the first N messages
are refused with a permanent 550, to test delivery failures.

    python3 smtp_capture.py --port PORT --dir DIR [--reject-first N]
"""

import argparse
import os
import time

from aiosmtpd.controller import Controller


class Capture:
    def __init__(self, folder, reject_first):
        self.folder = folder
        self.reject = reject_first
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.reject > 0:
            self.reject -= 1
            return "550 5.1.1 mailbox unavailable"
        self.count += 1
        head = "".join(f"X-RcptTo: {rcpt}\r\n" for rcpt in envelope.rcpt_tos)
        tmp = os.path.join(self.folder, f".{self.count:04}.tmp")
        with open(tmp, "wb") as out:
            out.write(head.encode() + envelope.original_content)
        os.rename(tmp, os.path.join(self.folder, f"{self.count:04}.eml"))
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--reject-first", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(
        Capture(args.dir, args.reject_first), hostname="127.0.0.1", port=args.port
    )
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
