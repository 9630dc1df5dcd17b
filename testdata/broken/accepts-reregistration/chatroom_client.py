"""Milestone 1 chat room client (reference fixture, written from the Lab 3 handout).

Prints every server message as "[Server] <text>" followed by a "[Me] " prompt
and sends each line typed on stdin to the server (stripped, no newline).
The first line is the username; ":q" quits.

Usage: python3 chatroom_client.py [SERVER [PORT [CLIENT_IP]]]
       SERVER defaults to $LAB_SERVER, then team30.com (resolved with DNS);
       PORT defaults to $LAB_PORT, then 5000; CLIENT_IP (or $LAB_BIND), when
       given, is the local address the TCP socket binds to before connecting.

When stdin is not a terminal (a pipe or a file) the client paces itself so
that unframed messages are not glued together: the username is sent after the
welcome message arrives, chat lines after the server's answer to it and at
least $LAB_SEND_GAP seconds (default 0.6) apart. At end of input it closes the
connection and exits with status 0.
"""
import collections
import os
import select
import socket
import sys
import time

# Basic logging configuration
import logging
logging.basicConfig(format='\r[%(levelname)s: line %(lineno)d] %(message)s', level=logging.INFO)
logger = logging.getLogger(__name__)

DEFAULT_SERVER = "team30.com"
DEFAULT_PORT = 5000
DEFAULT_SEND_GAP = 0.6


class StdinLines:
    """Line reader over fd 0 that cooperates with select().

    sys.stdin.readline() would buffer several piped lines at once and leave
    select() blind to them, so read the raw descriptor instead.
    """

    def __init__(self):
        self.fd = sys.stdin.fileno()
        self.buf = b""
        self.lines = collections.deque()
        self.eof = False

    def fill(self):
        data = os.read(self.fd, 4096)
        if not data:
            self.eof = True
            if self.buf:
                self.lines.append(self.buf.decode(errors="replace"))
                self.buf = b""
            return
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode(errors="replace"))


def close_quietly(sock: socket.socket):
    """Read what is left, then close, so the kernel sends FIN rather than RST."""
    try:
        sock.setblocking(False)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


class ChatRoomClient:

    def __init__(self, ServerIP: str, ServerPort: int, ReceiveBufferSize: int = 2048, ClientIP: str = None):
        self.ServerIP = ServerIP
        self.ServerPort = ServerPort
        self.ReceiveBufferSize = ReceiveBufferSize
        self.client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.client_socket.settimeout(2)
        self.stdin = StdinLines()
        self.paced = not os.isatty(self.stdin.fd)
        self.send_gap = float(os.environ.get("LAB_SEND_GAP") or DEFAULT_SEND_GAP) if self.paced else 0.0
        self.prompts_seen = 0   # server messages received before the username was sent
        self.username_sent = False
        self.chat_open = False
        self.last_send = 0.0
        try:
            if ClientIP:
                self.client_socket.bind((ClientIP, 0))
            self.client_socket.connect((self.ServerIP, self.ServerPort))
        except Exception as err:
            logger.error("Unable to connect to the server. Error message : %s " % err)
            sys.exit(1)
        logger.info("Connected to the chat server. IP: %s, Port: %s.\n To exit the chatroom type ':q'" % (self.ServerIP, self.ServerPort))

    def prompt(self):
        print("\r[Me]", end=" ", flush=True)

    def quit(self, status=0):
        close_quietly(self.client_socket)
        sys.exit(status)

    def on_server_data(self, data: bytes):
        print("\r[Server] " + data.decode(errors="replace"), flush=True)
        self.prompt()
        if not self.username_sent:
            self.prompts_seen += 1
        else:
            # the answer to the username: chatting may start
            self.chat_open = True

    def awaiting_server(self) -> bool:
        """Whether the server still owes the answer to what was sent (so input's end must wait)."""
        return self.username_sent and not self.chat_open

    def line_ready(self, now: float) -> bool:
        """Whether the next queued stdin line may be handled now (pacing for piped input)."""
        msg = self.stdin.lines[0].strip()
        if not self.paced or not msg or msg == ":q":
            return True
        if not self.username_sent:
            return self.prompts_seen > 0
        return self.chat_open and now - self.last_send >= self.send_gap

    def handle_line(self, msg: str):
        msg = msg.strip()
        if not msg:
            self.prompt()
            return
        if msg == ":q":
            self.quit()
        try:
            self.client_socket.send(msg.encode())
        except Exception as err:
            logger.error("Unable to send message to the server. Error message : %s " % err)
            sys.exit(1)
        self.username_sent = True
        self.last_send = time.monotonic()
        self.prompt()

    def run(self):
        try:
            while True:
                # handle queued lines that are allowed to go now
                while self.stdin.lines and self.line_ready(time.monotonic()):
                    self.handle_line(self.stdin.lines.popleft())
                timeout = None
                if self.stdin.eof and not self.stdin.lines and not self.awaiting_server():
                    # leave a gap after the last message too, or the server's
                    # "offline" notice may be glued to it at the other clients
                    wait = self.last_send + self.send_gap - time.monotonic()
                    if wait <= 0:
                        self.quit()
                    timeout = wait
                elif self.stdin.lines and self.chat_open:
                    timeout = max(0.0, self.last_send + self.send_gap - time.monotonic())
                watch = [self.client_socket] if self.stdin.eof else [self.stdin.fd, self.client_socket]
                read_sockets, _, _ = select.select(watch, [], [], timeout)
                for sock in read_sockets:
                    if sock == self.client_socket:
                        try:
                            data = self.client_socket.recv(self.ReceiveBufferSize)
                        except OSError as err:
                            logger.error("Connection to the server failed. Error message : %s" % err)
                            data = b""
                        if not data:
                            logger.info("Disconnected from chat server")
                            self.client_socket.close()
                            sys.exit()
                        self.on_server_data(data)
                    else:
                        self.stdin.fill()
        except KeyboardInterrupt:
            self.quit()


def client_config(argv):
    """Return (server_ip, port, client_ip) from argv, then the environment, then the handout defaults."""
    args = argv[1:]
    if len(args) > 3 or any(a in ("-h", "--help") for a in args):
        sys.exit("usage: python3 chatroom_client.py [SERVER [PORT [CLIENT_IP]]]")
    server = args[0] if len(args) > 0 else (os.environ.get("LAB_SERVER") or DEFAULT_SERVER)
    port = args[1] if len(args) > 1 else os.environ.get("LAB_PORT")
    client_ip = args[2] if len(args) > 2 else os.environ.get("LAB_BIND")
    try:
        # resolve the team's domain name: DO NOT WRITE THE IP ADDRESS DIRECTLY
        server_ip = socket.gethostbyname(server)
    except OSError as err:
        sys.exit("chatroom_client: cannot resolve %s: %s (is the DNS server running?)" % (server, err))
    try:
        port = int(port) if port else DEFAULT_PORT
    except ValueError:
        sys.exit("chatroom_client: bad port %r" % port)
    return server_ip, port, client_ip or None


if __name__ == "__main__":
    ServerIP, ServerPort, ClientIP = client_config(sys.argv)
    MaxReceiveBufferSize = 2048
    client = ChatRoomClient(ServerIP, ServerPort, MaxReceiveBufferSize, ClientIP)
    client.run()
