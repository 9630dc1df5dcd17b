# Lab 3 - Delivery Q1: chat server with login / register
# Based on our chatroom_p2p_server.py from milestone 2.
# The client asks the user for login/register, username and password itself and
# sends everything in one line: "<login|register> <username> <sha256 of password>"
# so the password never goes over the network in clear text.
# Users are saved in users.txt, one "username:hash" per line.
import socket
import select
import json
import time
import os

import logging
logging.basicConfig(format='\r[%(levelname)s: line %(lineno)d] %(message)s', level=logging.INFO)
logger = logging.getLogger(__name__)

USERS_FILE = "users.txt"


class AuthChatServer:

    def __init__(self, ip, port, bufsize=2048, max_clients=10):
        self.ip = ip
        self.port = port
        self.bufsize = bufsize
        self.server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server_socket.bind((self.ip, self.port))
        self.server_socket.listen(max_clients)
        self.sockets = [self.server_socket]
        self.clients = {}  # socket -> (username, ip)
        self.users = {}    # username -> password hash
        # load the users that registered before
        if os.path.exists(USERS_FILE):
            with open(USERS_FILE) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        name, pw_hash = line.split(":")
                        self.users[name] = pw_hash

    def add_user(self, name, pw_hash):
        self.users[name] = pw_hash
        with open(USERS_FILE, "a") as f:
            f.write(name + ":" + pw_hash + "\n")

    def broadcast(self, message, source):
        for s in self.clients.keys():
            if s != source:
                try:
                    s.send(message)
                except Exception as err:
                    logger.error("Could not send to client: %s" % err)
                    s.close()
                    self.remove(s)

    def remove(self, s):
        if s in self.sockets:
            self.sockets.remove(s)
            self.clients.pop(s)

    def send_peer_list(self):
        peers = json.dumps(list(self.clients.values()))
        # wait a bit so the list does not get glued to the previous message
        time.sleep(0.5)
        self.broadcast(peers.encode(), self.server_socket)

    # returns the username if the client is allowed in, None if not (connection is closed then)
    def authenticate(self, conn):
        conn.send("Hello! Please login or register.".encode())
        request = conn.recv(self.bufsize).decode().strip()
        parts = request.split(" ")
        if len(parts) != 3 or parts[0] not in ("login", "register"):
            conn.send("Bad request, bye".encode())
            conn.close()
            return None
        action, name, pw_hash = parts

        if action == "register":
            if name in self.users:
                conn.send("That name is taken".encode())
                conn.close()
                return None
            if len(name) > 20:
                conn.send("Name is too long (max 20 characters)".encode())
                conn.close()
                return None
            self.add_user(name, pw_hash)
            print("registered %s" % name)
        else:
            if self.users.get(name) != pw_hash:
                conn.send("Wrong credentials, bye".encode())
                conn.close()
                return None
            for client in self.clients.values():
                if client[0] == name:
                    conn.send("You are already online somewhere else".encode())
                    conn.close()
                    return None
            print("%s logged in" % name)
        return name

    def run(self):
        logger.info("Server started on IP: %s, Port: %s" % (self.ip, self.port))
        while True:
            readable, _, _ = select.select(self.sockets, [], [])
            for sock in readable:
                if sock == self.server_socket:
                    conn, addr = self.server_socket.accept()
                    try:
                        name = self.authenticate(conn)
                    except Exception as err:
                        logger.error("Authentication error: %s" % err)
                        conn.close()
                        continue
                    if name is None:
                        continue

                    self.sockets.append(conn)
                    self.clients[conn] = (name, addr[0])
                    # tell the new user who is online
                    online = [client[0] for client in self.clients.values()]
                    conn.send(("Welcome %s! Users online: %s" % (name, json.dumps(online))).encode())
                    message = "%s (IP: %s) connected" % (name, addr[0])
                    print(message)
                    self.broadcast(message.encode(), conn)
                    self.send_peer_list()
                else:
                    name, ip = self.clients[sock]
                    data = sock.recv(self.bufsize)
                    if data:
                        message = "%s (IP: %s) said: %s" % (name, ip, data.decode())
                        print(message)
                        self.broadcast(message.encode(), sock)
                    else:
                        message = "%s (IP: %s) is offline" % (name, ip)
                        print(message)
                        self.broadcast(message.encode(), sock)
                        sock.close()
                        self.remove(sock)
                        self.send_peer_list()


if __name__ == "__main__":
    server_ip = socket.gethostbyname(socket.gethostname())
    server = AuthChatServer(server_ip, 5000)
    server.run()
