"""Milestone 2 peer-to-peer chat client (reference fixture, written from the Lab 3 handout).

Talks to the server over TCP like the Milestone 1 client, keeps the list of
online peers that the server pushes as JSON, and sends direct messages to a
peer over UDP. Commands: ":q" quits, ":l" lists online peers,
"@username: message" sends a P2P message (everything after the first ':' is
sent as is, including the space after it, as in the handout).

Usage: python3 chatroom_p2p_client.py [SERVER [PORT [CLIENT_IP [P2P_PORT]]]]
       SERVER defaults to $LAB_SERVER, then team30.com (resolved with DNS);
       PORT to $LAB_PORT, then 5000; CLIENT_IP to $LAB_BIND, then the address
       of this host's name; P2P_PORT to $LAB_P2P_PORT, then 6000.
       The UDP socket binds to CLIENT_IP:P2P_PORT. When CLIENT_IP is given
       explicitly the TCP socket binds to it too, so the server sees that
       address (this lets several clients share one host on 127.x addresses).

When stdin is not a terminal the client paces itself: the username is sent
after the welcome message, other lines after the first peer list and at least
$LAB_SEND_GAP seconds (default 0.6) apart. At end of input it closes the
connection and exits with status 0.
"""
import collections
import json
import os
import re
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
DEFAULT_P2P_PORT = 6000
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


# A join or leave notice, possibly followed by the peer list the server sent
# 0.5 s later; on a busy host both can still arrive in one recv().
GLUED_NOTICE = re.compile(r"^(.*\(IP: [^()]*\) (?:connected|is offline))(\[.*\])$", re.DOTALL)


def is_peer_list(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value)


def split_json_lists(text: str):
    """Split a server message into JSON peer lists and any text glued to them.

    The handout checks only whether the message starts with '['; this also
    copes with a list glued after another list or after a join/leave notice.
    """
    decoder = json.JSONDecoder()
    lists = []
    text = text.strip()
    glued = GLUED_NOTICE.match(text)
    if glued:
        try:
            value = json.loads(glued.group(2))
            if is_peer_list(value):
                lists.append(value)
                text = glued.group(1)
        except ValueError:
            pass
    while text.startswith("["):
        try:
            value, end = decoder.raw_decode(text)
        except ValueError:
            break
        lists.append(value)
        text = text[end:].strip()
    return lists, text


class ChatRoomP2PClient:

    def __init__(self, ServerIP: str, ServerPort: int, ClientIP: str, P2PPort: int, ReceiveBufferSize: int = 2048, BindTCP: bool = False):
        self.ServerIP = ServerIP
        self.ServerPort = ServerPort
        self.ClientIP = ClientIP
        self.P2PPort = P2PPort
        self.ReceiveBufferSize = ReceiveBufferSize
        self.client_socket_TCP = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.client_socket_TCP.settimeout(2)
        self.client_socket_UDP = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.client_socket_UDP.settimeout(2)
        try:
            self.client_socket_UDP.bind((self.ClientIP, self.P2PPort))
        except OSError as err:
            logger.error("Unable to bind the P2P socket to %s:%s. Error message : %s" % (self.ClientIP, self.P2PPort, err))
            sys.exit(1)
        # as in the handout, set after bind(): it does not let two clients share an address
        self.client_socket_UDP.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.p2p_peers = {}  # {name: ip}

        self.stdin = StdinLines()
        self.paced = not os.isatty(self.stdin.fd)
        self.send_gap = float(os.environ.get("LAB_SEND_GAP") or DEFAULT_SEND_GAP) if self.paced else 0.0
        self.prompts_seen = 0   # server messages received before the username was sent
        self.username_sent = False
        self.chat_open = False  # set by the first peer list after the username
        self.last_send = 0.0

        try:
            if BindTCP:
                self.client_socket_TCP.bind((self.ClientIP, 0))
            self.client_socket_TCP.connect((self.ServerIP, self.ServerPort))
        except Exception as err:
            logger.error("Unable to connect to the server. Error message : %s" % err)
            sys.exit(1)

        logger.info("Connected to the chat server. IP: %s, Port: %s.\n To exit the chatroom type ':q'\n To list all online users type ':l'\n To send a p2p message type '@username: message' " % (self.ServerIP, self.ServerPort))

    def update_peers(self, peers):
        self.p2p_peers = {peer[0]: peer[1] for peer in peers}

    def prompt(self):
        print("\r[Me]", end=" ", flush=True)

    def quit(self, status=0):
        close_quietly(self.client_socket_TCP)
        self.client_socket_UDP.close()
        sys.exit(status)

    def on_server_data(self, data: bytes):
        lists, text = split_json_lists(data.decode(errors="replace"))
        for peers in lists:
            self.update_peers(peers)
            if self.username_sent:
                self.chat_open = True
        if text:
            print("\r[Server] " + text, flush=True)
            self.prompt()
            if not self.username_sent:
                self.prompts_seen += 1

    def on_p2p_data(self, data: bytes, addr):
        peer_IP_address = addr[0]
        names = [username for username, ip in self.p2p_peers.items() if ip == peer_IP_address]
        # the handout indexes [0] and crashes on a stranger; name it instead
        peer_username = names[0] if names else "unknown"
        print("\r[P2P] %s (IP: %s) says: %s" % (peer_username, peer_IP_address, data.decode(errors="replace")), flush=True)
        self.prompt()

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

    def send_p2p(self, msg: str):
        username = msg[1:msg.find(':')]
        msg = msg[msg.find(':') + 1:]
        if username in self.p2p_peers.keys():
            peer_IP_address = self.p2p_peers[username]
            try:
                self.client_socket_UDP.sendto(msg.encode(), (peer_IP_address, self.P2PPort))
            except Exception as err:
                logger.error("Unable to send p2p message to %s. Error message : %s" % (username, err))
        else:
            print("\rUser (%s) not found" % username, flush=True)

    def handle_line(self, msg: str):
        msg = msg.strip()
        if not msg:
            self.prompt()
            return
        if msg == ":q":
            self.quit()
        if not self.username_sent:
            # the first line answers the server's question, whatever it looks like
            self.send_to_server(msg)
            self.username_sent = True
        elif msg == ":l":
            peers = list(self.p2p_peers.keys())
            print("\rOnline peers: %s" % peers, flush=True)
        elif msg[0] == "@":
            self.send_p2p(msg)
        else:
            self.send_to_server(msg)
        self.last_send = time.monotonic()
        self.prompt()

    def send_to_server(self, msg: str):
        try:
            self.client_socket_TCP.send(msg.encode())
        except Exception as err:
            logger.error("Unable to send message to the server. Error message : %s" % err)
            sys.exit(1)

    def run(self):
        try:
            while True:
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
                watch = [self.client_socket_TCP, self.client_socket_UDP]
                if not self.stdin.eof:
                    watch.append(self.stdin.fd)
                read_sockets, _, _ = select.select(watch, [], [], timeout)
                for sock in read_sockets:
                    if sock == self.client_socket_TCP:
                        try:
                            data = self.client_socket_TCP.recv(self.ReceiveBufferSize)
                        except OSError as err:
                            logger.error("Connection to the server failed. Error message : %s" % err)
                            data = b""
                        if not data:
                            logger.info("Disconnected from chat server")
                            self.client_socket_TCP.close()
                            sys.exit()
                        self.on_server_data(data)
                    elif sock == self.client_socket_UDP:
                        data, addr = self.client_socket_UDP.recvfrom(self.ReceiveBufferSize)
                        self.on_p2p_data(data, addr)
                    else:
                        self.stdin.fill()
        except KeyboardInterrupt:
            self.quit()


def client_config(argv):
    """Return (server_ip, port, client_ip, p2p_port, client_ip_given) from argv, the environment, then defaults."""
    args = argv[1:]
    if len(args) > 4 or any(a in ("-h", "--help") for a in args):
        sys.exit("usage: python3 %s [SERVER [PORT [CLIENT_IP [P2P_PORT]]]]" % os.path.basename(argv[0]))
    server = args[0] if len(args) > 0 else (os.environ.get("LAB_SERVER") or DEFAULT_SERVER)
    port = args[1] if len(args) > 1 else os.environ.get("LAB_PORT")
    client_ip = args[2] if len(args) > 2 else os.environ.get("LAB_BIND")
    p2p_port = args[3] if len(args) > 3 else os.environ.get("LAB_P2P_PORT")
    given = bool(client_ip)
    try:
        # resolve names: DO NOT WRITE THE IP ADDRESS DIRECTLY
        server_ip = socket.gethostbyname(server)
        client_ip = socket.gethostbyname(client_ip) if client_ip else socket.gethostbyname(socket.gethostname())
    except OSError as err:
        sys.exit("%s: cannot resolve an address: %s (is the DNS server running?)" % (os.path.basename(argv[0]), err))
    try:
        port = int(port) if port else DEFAULT_PORT
        p2p_port = int(p2p_port) if p2p_port else DEFAULT_P2P_PORT
    except ValueError as err:
        sys.exit("%s: bad port: %s" % (os.path.basename(argv[0]), err))
    return server_ip, port, client_ip, p2p_port, given


if __name__ == "__main__":
    ServerIP, ServerPort, ClientIP, P2PPort, BindTCP = client_config(sys.argv)
    MaxReceiveBufferSize = 2048
    client = ChatRoomP2PClient(ServerIP, ServerPort, ClientIP, P2PPort, MaxReceiveBufferSize, BindTCP)
    client.run()
