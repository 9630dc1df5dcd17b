# Lab 3 - Delivery Q1: chat client with login / register
# Based on our chatroom_p2p_client.py from milestone 2.
# We ask the user for login/register, username and password here in the client,
# hash the password with sha256 and send one line to the server:
#   "login alice <hash>"  or  "register alice <hash>"
import socket
import select
import sys
import json
import hashlib

import logging
logging.basicConfig(format='\r[%(levelname)s: line %(lineno)d] %(message)s', level=logging.INFO)
logger = logging.getLogger(__name__)


class AuthChatClient:

    def __init__(self, server_ip, server_port, my_ip, p2p_port, bufsize=2048):
        self.server_ip = server_ip
        self.server_port = server_port
        self.my_ip = my_ip
        self.p2p_port = p2p_port
        self.bufsize = bufsize
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.settimeout(2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((self.my_ip, self.p2p_port))
        self.peers = {}  # name -> ip
        try:
            self.tcp.connect((self.server_ip, self.server_port))
        except Exception as err:
            logger.error("Could not connect to the server: %s" % err)
            sys.exit()
        logger.info("Connected to %s:%s" % (self.server_ip, self.server_port))

    def login(self):
        hello = self.tcp.recv(self.bufsize).decode()
        print("[Server] " + hello)

        action = input("Do you want to login or register: ").strip().lower()
        if action != "login" and action != "register":
            print("You have to write login or register")
            sys.exit()
        username = input("Please write your username: ").strip()
        password = input("Password: ").strip()
        # never send the password itself, only the hash
        pw_hash = hashlib.sha256(password.encode()).hexdigest()
        self.tcp.send(("%s %s %s" % (action, username, pw_hash)).encode())

        answer = self.tcp.recv(self.bufsize).decode()
        if not answer.startswith("Welcome"):
            # the server closes the connection after an error
            print("Error: " + answer)
            self.tcp.close()
            sys.exit()
        print(answer)
        print("Commands: ':q' quit, ':l' list users, '@username: message' private message")

    def run(self):
        print("[Me] ", end="", flush=True)
        while True:
            readable, _, _ = select.select([sys.stdin, self.tcp, self.udp], [], [])
            for sock in readable:
                if sock == self.tcp:
                    data = self.tcp.recv(self.bufsize)
                    if not data:
                        logger.info("Disconnected from chat server")
                        sys.exit()
                    data = data.decode().strip()
                    if data.startswith("["):
                        # list of online users [[name, ip], ...]
                        self.peers = {p[0]: p[1] for p in json.loads(data)}
                    else:
                        print("\r[Server] " + data)
                        print("[Me] ", end="", flush=True)

                elif sock == self.udp:
                    data, addr = self.udp.recvfrom(self.bufsize)
                    sender = "unknown"
                    for name, ip in self.peers.items():
                        if ip == addr[0]:
                            sender = name
                    print("\r[P2P] %s (IP: %s) says: %s" % (sender, addr[0], data.decode()))
                    print("[Me] ", end="", flush=True)

                else:
                    msg = sys.stdin.readline().strip()
                    if msg == "":
                        pass
                    elif msg == ":q":
                        self.tcp.close()
                        sys.exit()
                    elif msg == ":l":
                        print("\rOnline peers: %s" % list(self.peers.keys()))
                    elif msg.startswith("@"):
                        name = msg[1:msg.find(":")]
                        text = msg[msg.find(":") + 1:]
                        if name in self.peers:
                            self.udp.sendto(text.encode(), (self.peers[name], self.p2p_port))
                        else:
                            print("\rUser (%s) not found" % name)
                    else:
                        self.tcp.send(msg.encode())
                    print("[Me] ", end="", flush=True)


if __name__ == "__main__":
    server_ip = socket.gethostbyname("team30.com")
    my_ip = socket.gethostbyname(socket.gethostname())
    client = AuthChatClient(server_ip, 5000, my_ip, 6000)
    client.login()
    client.run()
