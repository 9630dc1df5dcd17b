"""Milestone 4 chat server with user authentication (reference fixture for Lab 3).

The Milestone 2 server plus accounts. A new connection goes through this
dialogue (each line is one unframed message; C is the client, S the server):

    S: Welcome to this chatroom! Type 'login' or 'register' and press enter to continue:
    C: login | register
    S: Username:
    C: <name>
    S: Password:
    C: <password>
    S: Registration successful. Welcome, <name>!   (register)
    S: Login successful. Welcome back, <name>!     (login)

then, 0.5 s later, the JSON list of online peers goes to every client and
chat and P2P work exactly as in Milestone 2. Each error below is sent and then
the connection is closed:

    Invalid action. Type 'login' or 'register'.
    Invalid username. Please try again.          (empty, > 20 characters or a space)
    Username already taken. Please try again.    (register of an existing name)
    Invalid username or password.                (login: unknown name or wrong password)
    User already logged in.

Passwords are stored as salted PBKDF2-HMAC-SHA256 hashes (200000 rounds, or
$LAB_HASH_ITERATIONS) in a JSON file, rewritten atomically after every
registration.

Usage: python3 chatroom_auth_server.py [--users FILE] [HOST [PORT]]
       FILE defaults to $LAB_USERS, then users.json in the working directory;
       HOST to $LAB_SERVER, then $LAB_BIND, then the address of this host's
       name; PORT to $LAB_PORT, then 5000.
"""
import argparse
import hashlib
import hmac
import json
import os
import secrets
import select
import socket
import sys
import tempfile
import time

# Basic logging configuration
import logging
logging.basicConfig(format='\r[%(levelname)s: line %(lineno)d] %(message)s', level=logging.INFO)
logger = logging.getLogger(__name__)

DEFAULT_PORT = 5000
DEFAULT_USERS_FILE = "users.json"
# PBKDF2 rounds for new passwords; $LAB_HASH_ITERATIONS lowers it for fast tests.
# Each record keeps its own count, so changing it never breaks existing logins.
HASH_ITERATIONS = int(os.environ.get("LAB_HASH_ITERATIONS") or 200_000)

WELCOME = "Welcome to this chatroom! Type 'login' or 'register' and press enter to continue: "
ASK_USERNAME = "Username: "
ASK_PASSWORD = "Password: "
REGISTERED = "Registration successful. Welcome, %s!"
LOGGED_IN = "Login successful. Welcome back, %s!"
INVALID_ACTION = "Invalid action. Type 'login' or 'register'."
INVALID_USERNAME = "Invalid username. Please try again."
USERNAME_TAKEN = "Username already taken. Please try again."
BAD_CREDENTIALS = "Invalid username or password."
ALREADY_LOGGED_IN = "User already logged in."


class UserStore:
    """Usernames and salted password hashes, kept in a JSON file.

    File format: {"<name>": {"algorithm": "pbkdf2_sha256", "iterations": N,
    "salt": "<hex>", "hash": "<hex>"}, ...}
    """

    def __init__(self, path: str):
        self.path = path
        self.users = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.users = json.load(f)

    def __contains__(self, name: str) -> bool:
        return name in self.users

    @staticmethod
    def hash_password(password: str, salt: bytes, iterations: int) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)

    def add(self, name: str, password: str):
        salt = secrets.token_bytes(16)
        self.users[name] = {
            "algorithm": "pbkdf2_sha256",
            "iterations": HASH_ITERATIONS,
            "salt": salt.hex(),
            "hash": self.hash_password(password, salt, HASH_ITERATIONS).hex(),
        }
        self.save()

    def check(self, name: str, password: str) -> bool:
        record = self.users.get(name)
        if record is None:
            return False
        digest = self.hash_password(password, bytes.fromhex(record["salt"]), record["iterations"])
        return hmac.compare_digest(digest.hex(), record["hash"])

    def save(self):
        # write a temporary file and rename it, so a crash never leaves half a file
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".users-", suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.users, f, indent=2, sort_keys=True)
                f.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


class ChatRoomAuthServer:

    def __init__(self, ServerIP: str, ServerPort: int, users: UserStore, ReceiveBufferSize: int = 2048, MaxClients: int = 10):
        self.ServerIP = ServerIP
        self.ServerPort = ServerPort
        self.users = users
        self.ReceiveBufferSize = ReceiveBufferSize
        self.server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server_socket.bind((self.ServerIP, self.ServerPort))
        self.server_socket.listen(MaxClients)
        # read list for select()
        self.list_of_sockets = [self.server_socket]
        self.clients = {}  # {socket: (name, ip)}, authenticated clients only
        # connections still in the login dialogue: {socket: {"ip", "step", "action", "name"}}.
        # They are served by the select() loop too, so a slow typist blocks nobody.
        self.pending = {}

    def broadcast(self, message: bytes, source_socket):
        """Send message to every authenticated client except source_socket."""
        for client in list(self.clients.keys()):
            if client != source_socket:
                try:
                    client.send(message)
                except Exception as err:
                    logger.error("Unable to send message to client. Error message : %s" % err)
                    client.close()
                    self.remove(client)

    def remove(self, sock: socket.socket):
        if sock in self.list_of_sockets:
            self.list_of_sockets.remove(sock)
        self.clients.pop(sock, None)
        self.pending.pop(sock, None)

    def broadcast_list_of_clients(self):
        """Push the JSON list of [name, ip] pairs to every client."""
        list_of_clients = json.dumps(list(self.clients.values()))
        # messages are unframed: give clients time to read the previous message
        time.sleep(0.5)
        self.broadcast(list_of_clients.encode(), self.server_socket)

    def valid_username(self, username: str) -> bool:
        return bool(username) and len(username) <= 20 and " " not in username

    def accept_client(self):
        sockfd, addr = self.server_socket.accept()
        try:
            sockfd.send(WELCOME.encode())
        except OSError as err:
            logger.error("Unable to greet client. Error message : %s" % err)
            sockfd.close()
            return
        self.list_of_sockets.append(sockfd)
        self.pending[sockfd] = {"ip": addr[0], "step": "action", "action": None, "name": None}

    def reject(self, sock: socket.socket, message: str):
        state = self.pending.get(sock, {})
        logger.info("Rejected %s (%s): %s" % (state.get("name"), state.get("ip"), message))
        try:
            sock.send(message.encode())
        except OSError:
            pass
        sock.close()
        self.remove(sock)

    def ask(self, sock: socket.socket, question: str):
        try:
            sock.send(question.encode())
        except OSError:
            sock.close()
            self.remove(sock)

    def handle_pending(self, sock: socket.socket):
        state = self.pending[sock]
        try:
            data = sock.recv(self.ReceiveBufferSize)
        except OSError:
            data = b""
        if not data:
            sock.close()
            self.remove(sock)
            return
        answer = data.decode(errors="replace").strip()

        if state["step"] == "action":
            if answer not in ("login", "register"):
                self.reject(sock, INVALID_ACTION)
                return
            state["action"], state["step"] = answer, "username"
            self.ask(sock, ASK_USERNAME)
        elif state["step"] == "username":
            if not self.valid_username(answer):
                self.reject(sock, INVALID_USERNAME)
                return
            state["name"], state["step"] = answer, "password"
            self.ask(sock, ASK_PASSWORD)
        else:
            self.authenticate(sock, state, answer)

    def authenticate(self, sock: socket.socket, state: dict, password: str):
        name = state["name"]
        if state["action"] == "register":
            if name in self.users:
                self.reject(sock, USERNAME_TAKEN)
                return
            self.users.add(name, password)
            confirmation = REGISTERED % name
        else:
            if not self.users.check(name, password):
                self.reject(sock, BAD_CREDENTIALS)
                return
            if any(name == details[0] for details in self.clients.values()):
                self.reject(sock, ALREADY_LOGGED_IN)
                return
            confirmation = LOGGED_IN % name
        try:
            sock.send(confirmation.encode())
        except OSError:
            sock.close()
            self.remove(sock)
            return

        del self.pending[sock]
        client_details = (name, state["ip"])
        self.clients[sock] = client_details
        broadcast_message = "%s (IP: %s) connected" % client_details
        print("New client connected: %s" % broadcast_message, flush=True)
        self.broadcast(broadcast_message.encode(), sock)
        self.broadcast_list_of_clients()

    def handle_client(self, sock: socket.socket):
        client_details = self.clients[sock]
        try:
            data = sock.recv(self.ReceiveBufferSize)
        except OSError as err:
            logger.error("Unable to receive from client. Error message : %s" % err)
            data = b""

        if data:
            broadcast_message = "%s (IP: %s) said: %s" % (client_details[0], client_details[1], data.decode(errors="replace"))
            print("Broadcasting message from client: %s" % broadcast_message, flush=True)
            self.broadcast(broadcast_message.encode(), sock)
        else:
            broadcast_message = "%s (IP: %s) is offline" % client_details
            print("Client disconnected: %s" % broadcast_message, flush=True)
            self.broadcast(broadcast_message.encode(), sock)
            sock.close()
            self.remove(sock)
            self.broadcast_list_of_clients()

    def run(self):
        logger.info("Server started on IP: %s, Port: %s, users file: %s" % (self.ServerIP, self.ServerPort, self.users.path))
        try:
            while True:
                read_sockets, _, _ = select.select(self.list_of_sockets, [], [])
                for sock in read_sockets:
                    if sock == self.server_socket:
                        self.accept_client()
                    elif sock in self.pending:
                        self.handle_pending(sock)
                    elif sock in self.clients:
                        self.handle_client(sock)
        except KeyboardInterrupt:
            pass
        finally:
            self.server_socket.close()


def server_config(argv):
    """Return (host, port, users_file) from argv, then the environment, then defaults."""
    parser = argparse.ArgumentParser(prog="chatroom_auth_server.py", description="Lab 3 Milestone 4 chat server with accounts.")
    parser.add_argument("--users", metavar="FILE", default=os.environ.get("LAB_USERS") or DEFAULT_USERS_FILE,
                        help="JSON file of users and password hashes (default $LAB_USERS, then users.json)")
    parser.add_argument("host", nargs="?", default=os.environ.get("LAB_SERVER") or os.environ.get("LAB_BIND"))
    parser.add_argument("port", nargs="?", default=os.environ.get("LAB_PORT"))
    args = parser.parse_args(argv[1:])
    try:
        host = args.host or socket.gethostbyname(socket.gethostname())
        port = int(args.port) if args.port else DEFAULT_PORT
    except (OSError, ValueError) as err:
        sys.exit("chatroom_auth_server: bad address or port: %s" % err)
    return host, port, args.users


if __name__ == "__main__":
    ServerIP, ServerPort, UsersFile = server_config(sys.argv)
    try:
        users = UserStore(UsersFile)
    except (OSError, ValueError) as err:
        sys.exit("chatroom_auth_server: cannot read users file %s: %s" % (UsersFile, err))
    try:
        server = ChatRoomAuthServer(ServerIP, ServerPort, users)
    except OSError as err:
        sys.exit("chatroom_auth_server: cannot listen on %s:%s: %s" % (ServerIP, ServerPort, err))
    server.run()
