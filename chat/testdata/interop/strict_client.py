"""A strict, handout-faithful Lab 3 chat client for the Go interop tests.

It handles the server exactly as the handout's Milestone 2 client does: one
recv(2048) per select() wakeup is one message; the message is decoded and
stripped; if it starts with '[' the whole read goes to json.loads as the peer
list, otherwise it is printed as "[Server] " + message. Each stdin line is
stripped and sent with one send(), without a newline; ":q" closes the
connection and exits.

Unlike the fixtures in testdata/handout, it forgives nothing. A read that
json.loads cannot parse (a peer list sharing a read with another message), a
read that carries a peer list after some text (the handout would print the
list as text and miss the update) and a read that strips to nothing (the
handout indexes data[0] and crashes) are protocol violations: it logs them
and exits with status 2.

Every read, send and violation is written as one JSON object per line to
LOGFILE, flushed at once, so the test can follow the session as it happens:

  {"read": RAW, "text": STRIPPED}            a message printed as text
  {"read": RAW, "list": [[NAME, IP], ...]}   a peer list that parsed
  {"read": RAW, "violation": WHY}            then exit 2
  {"sent": MSG}   {"quit": true}   {"closed": true}

Usage: python3 strict_client.py SERVER PORT LOGFILE [CLIENT_IP]

CLIENT_IP, when given, is bound before connecting so the server sees it. Input
lines are read from fd 0 directly so that select() sees each piped line (a
test harness writes them); the end of input exits like ":q".
"""
import json
import os
import select
import socket
import sys

RECEIVE_BUFFER = 2048


def is_peer_list(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value)


class StrictClient:

    def __init__(self, server: str, port: int, log, client_ip: str = ""):
        self.log = log
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if client_ip:
            self.sock.bind((client_ip, 0))
        self.sock.connect((server, port))
        self.pending = b""
        self.p2p_peers = {}

    def emit(self, **event):
        self.log.write(json.dumps(event) + "\n")
        self.log.flush()

    def violation(self, raw: str, why: str):
        self.emit(read=raw, violation=why)
        print("PROTOCOL VIOLATION: %s: %r" % (why, raw), file=sys.stderr, flush=True)
        self.sock.close()
        sys.exit(2)

    def on_server(self):
        data = self.sock.recv(RECEIVE_BUFFER)
        if not data:
            self.emit(closed=True)
            print("\rDisconnected from chat server", flush=True)
            self.sock.close()
            sys.exit(0)
        raw = data.decode(errors="backslashreplace")
        # the handout: data = data.decode(); data = data.strip(); if data[0] == '[': json.loads(data)
        try:
            text = data.decode()
        except UnicodeDecodeError as err:
            self.violation(raw, "read is not valid UTF-8 on its own: %s" % err)
        text = text.strip()
        if not text:
            self.violation(raw, "read is empty after strip(); the handout's data[0] raises IndexError")
        if text[0] == '[':
            try:
                value = json.loads(text)
            except ValueError as err:
                self.violation(raw, "json.loads failed, the peer list shares a read: %s" % err)
            if not is_peer_list(value):
                self.violation(raw, "JSON is not a list of [name, ip] pairs")
            self.p2p_peers = {peer[0]: peer[1] for peer in value}
            self.emit(read=raw, list=value)
            return
        if "[[" in text or "[]" in text:
            self.violation(raw, "a peer list follows text in one read; the handout prints it and misses the update")
        self.emit(read=raw, text=text)
        print("\r[Server] " + text, flush=True)
        print("\r[Me]", end=" ", flush=True)

    def on_stdin(self):
        chunk = os.read(0, 4096)
        if not chunk:
            self.quit()
        self.pending += chunk
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            self.handle_line(line.decode())

    def handle_line(self, msg: str):
        msg = msg.strip()
        if not msg:
            return
        if msg == ":q":
            self.quit()
        if msg == ":l":
            print("\rOnline peers: %s" % list(self.p2p_peers.keys()), flush=True)
            return
        self.sock.send(msg.encode())
        self.emit(sent=msg)

    def quit(self):
        self.emit(quit=True)
        self.sock.close()
        sys.exit(0)

    def run(self):
        while True:
            readable, _, _ = select.select([0, self.sock], [], [])
            for src in readable:
                if src is self.sock:
                    self.on_server()
                else:
                    self.on_stdin()


def main(argv):
    if len(argv) not in (4, 5):
        sys.exit("usage: python3 strict_client.py SERVER PORT LOGFILE [CLIENT_IP]")
    with open(argv[3], "w") as log:
        client = StrictClient(argv[1], int(argv[2]), log, argv[4] if len(argv) == 5 else "")
        client.run()


if __name__ == "__main__":
    main(sys.argv)
