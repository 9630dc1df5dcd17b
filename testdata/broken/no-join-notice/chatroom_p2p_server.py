"""Milestone 2 peer-to-peer chat server (reference fixture, written from the Lab 3 handout).

Like the Milestone 1 server, and it also keeps track of connected clients:
whenever a client joins or leaves it waits 0.5 s and then sends every client
the list of online peers as JSON, e.g. [["alice", "10.20.30.11"]].

Usage: python3 chatroom_p2p_server.py [HOST [PORT]]
       HOST defaults to $LAB_SERVER, then $LAB_BIND, then the address of this
       host's name; PORT defaults to $LAB_PORT, then 5000.
"""
import json
import os
import select
import socket
import sys
import time

# Basic logging configuration
import logging
logging.basicConfig(format='\r[%(levelname)s: line %(lineno)d] %(message)s', level=logging.INFO)
logger = logging.getLogger(__name__)

DEFAULT_PORT = 5000
# The handout reads the username with a blocking recv(); a client that never
# answers would freeze every other client, so give up after this many seconds.
USERNAME_TIMEOUT = 60


class ChatRoomP2PServer:

    def __init__(self, ServerIP: str, ServerPort: int, ReceiveBufferSize: int = 2048, MaxClients: int = 10):
        self.ServerIP = ServerIP
        self.ServerPort = ServerPort
        self.ReceiveBufferSize = ReceiveBufferSize
        self.server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server_socket.bind((self.ServerIP, self.ServerPort))
        self.server_socket.listen(MaxClients)
        # read list for select()
        self.list_of_sockets = [self.server_socket]
        self.clients = {}  # {socket: (name, ip)}

    def broadcast(self, message: bytes, source_socket):
        """Send message to every registered client except source_socket."""
        # iterate over a copy: a failed send removes the client from the dict
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

    def broadcast_list_of_clients(self):
        """Push the JSON list of [name, ip] pairs to every client."""
        list_of_clients = json.dumps(list(self.clients.values()))
        # messages are unframed: give the client time to read the previous
        # message so the list does not arrive glued to it
        time.sleep(0.5)
        # the server itself is the source, so every client gets the list
        self.broadcast(list_of_clients.encode(), self.server_socket)

    def valid_username(self, username: str) -> bool:
        return bool(username) and len(username) <= 20 and " " not in username

    def accept_client(self):
        sockfd, addr = self.server_socket.accept()
        welcome_message = "Welcome to this chatroom! Type your username and press enter to continue: ".encode()
        try:
            sockfd.settimeout(USERNAME_TIMEOUT)
            sockfd.send(welcome_message)
            username = sockfd.recv(self.ReceiveBufferSize)
            username = username.decode(errors="replace").strip()

            if not self.valid_username(username):
                # the handout's M2 server has a trailing space here
                sockfd.send("Invalid username. Please try again. ".encode())
                sockfd.close()
                return

            if any(username == details[0] for details in self.clients.values()):
                sockfd.send("Username already taken. Please try again.".encode())
                sockfd.close()
                return

            sockfd.send(("Your username (%s) is valid. You can start chatting now." % username).encode())
            sockfd.settimeout(None)
        except Exception as err:
            logger.error("Unable to get username from client. Error message : %s" % err)
            sockfd.close()
            return

        self.list_of_sockets.append(sockfd)
        client_details = (username, addr[0])
        self.clients[sockfd] = client_details
        broadcast_message = "%s (IP: %s) connected" % client_details
        print("New client connected: %s" % broadcast_message, flush=True)
        self.broadcast(broadcast_message.encode(), sockfd)
        self.broadcast_list_of_clients()

    def handle_client(self, sock: socket.socket):
        client_details = self.clients[sock]
        try:
            data = sock.recv(self.ReceiveBufferSize)
        except OSError as err:
            # a reset is a disconnect, not a reason to stop the server
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
        logger.info("Server started on IP: %s, Port: %s" % (self.ServerIP, self.ServerPort))
        try:
            while True:
                read_sockets, _, _ = select.select(self.list_of_sockets, [], [])
                for sock in read_sockets:
                    if sock == self.server_socket:
                        self.accept_client()
                    elif sock in self.clients:
                        self.handle_client(sock)
        except KeyboardInterrupt:
            pass
        finally:
            self.server_socket.close()


def server_config(argv):
    """Return (host, port) from argv, then the environment, then the handout defaults."""
    args = argv[1:]
    if len(args) > 2 or any(a in ("-h", "--help") for a in args):
        sys.exit("usage: python3 chatroom_p2p_server.py [HOST [PORT]]")
    host = args[0] if len(args) > 0 else (os.environ.get("LAB_SERVER") or os.environ.get("LAB_BIND"))
    port = args[1] if len(args) > 1 else os.environ.get("LAB_PORT")
    try:
        if not host:
            # DO NOT WRITE THE IP ADDRESS DIRECTLY: resolve this host's own name
            host = socket.gethostbyname(socket.gethostname())
        port = int(port) if port else DEFAULT_PORT
    except (OSError, ValueError) as err:
        sys.exit("chatroom_p2p_server: bad address or port: %s" % err)
    return host, port


if __name__ == "__main__":
    ServerIP, ServerPort = server_config(sys.argv)
    ReceiveBufferSize = 2048
    MaxClients = 10
    try:
        server = ChatRoomP2PServer(ServerIP, ServerPort, ReceiveBufferSize, MaxClients)
    except OSError as err:
        sys.exit("chatroom_p2p_server: cannot listen on %s:%s: %s" % (ServerIP, ServerPort, err))
    server.run()
