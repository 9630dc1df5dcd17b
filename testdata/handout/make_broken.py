"""Regenerate testdata/broken/<fault>/ from the correct programs in this folder.

Each broken folder gets all six programs: five copied unchanged and one with
exactly one fault, applied as a text replacement that must match exactly
once, plus FAULT.md naming the single selfcheck.py check it must fail.

Usage: python3 make_broken.py
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BROKEN = os.path.join(os.path.dirname(HERE), "broken")

PROGRAMS = [
    "chatroom_server.py", "chatroom_client.py",
    "chatroom_p2p_server.py", "chatroom_p2p_client.py",
    "chatroom_auth_server.py", "chatroom_auth_client.py",
]

# fault name -> (file, [(old, new)], check it must fail, one-line description)
FAULTS = {
    "echo-to-sender": (
        "chatroom_server.py",
        [("""            print("Broadcast message from client: %s" % broadcast_message, flush=True)
            self.broadcast(broadcast_message.encode(), sock)""",
          """            print("Broadcast message from client: %s" % broadcast_message, flush=True)
            self.broadcast(broadcast_message.encode(), self.server_socket)""")],
        "m1-no-echo",
        "The M1 server broadcasts each chat message to every client, the sender included.",
    ),
    "no-duplicate-check": (
        "chatroom_server.py",
        [("""            if any(username == details[0] for details in self.clients.values()):
                sockfd.send("Username already taken. Please try again.".encode())
                sockfd.close()
                return

""", "")],
        "m1-duplicate-rejected",
        "The M1 server accepts a username that is already in use.",
    ),
    "no-join-notice": (
        "chatroom_server.py",
        [("""        print("New client connected: %s" % broadcast_message, flush=True)
        self.broadcast(broadcast_message.encode(), sockfd)
""", """        print("New client connected: %s" % broadcast_message, flush=True)
""")],
        "m1-join-notice",
        "The M1 server does not tell the other clients that a new client joined.",
    ),
    "invalid-name-accepted": (
        "chatroom_server.py",
        [("len(username) <= 20", "len(username) <= 21")],
        "m1-username-rules",
        "The M1 server accepts a 21-character username (the limit is 20).",
    ),
    "no-leave-push": (
        "chatroom_p2p_server.py",
        [("""            sock.close()
            self.remove(sock)
            self.broadcast_list_of_clients()
""", """            sock.close()
            self.remove(sock)
""")],
        "m2-leave-push",
        "The M2 server does not push the updated peer list when a client leaves.",
    ),
    "p2p-via-server": (
        "chatroom_p2p_client.py",
        [("""                self.client_socket_UDP.sendto(msg.encode(), (peer_IP_address, self.P2PPort))""",
          """                self.client_socket_TCP.send(("@%s:%s" % (username, msg)).encode())""")],
        "m2-p2p-udp",
        "The M2 client sends '@user: msg' to the server over TCP instead of to the peer over UDP.",
    ),
    "plaintext-passwords": (
        "chatroom_auth_server.py",
        [("""        salt = secrets.token_bytes(16)
        self.users[name] = {
            "algorithm": "pbkdf2_sha256",
            "iterations": HASH_ITERATIONS,
            "salt": salt.hex(),
            "hash": self.hash_password(password, salt, HASH_ITERATIONS).hex(),
        }""", """        self.users[name] = {"password": password}"""),
         ("""        digest = self.hash_password(password, bytes.fromhex(record["salt"]), record["iterations"])
        return hmac.compare_digest(digest.hex(), record["hash"])""",
          """        return hmac.compare_digest(password, record["password"])""")],
        "m4-passwords-hashed",
        "The M4 server stores passwords in clear text in the users file.",
    ),
    "accepts-wrong-password": (
        "chatroom_auth_server.py",
        [("""            if not self.users.check(name, password):""",
          """            if name not in self.users:""")],
        "m4-wrong-password-rejected",
        "The M4 server logs an existing user in whatever password is given.",
    ),
    "accepts-reregistration": (
        "chatroom_auth_server.py",
        [("""            if name in self.users:
                self.reject(sock, USERNAME_TAKEN)
                return
""", "")],
        "m4-reregistration-rejected",
        "The M4 server lets an existing username register again, overwriting its password.",
    ),
}


def main():
    for fault, (target, replacements, check, description) in sorted(FAULTS.items()):
        folder = os.path.join(BROKEN, fault)
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
        for name in PROGRAMS:
            src, dst = os.path.join(HERE, name), os.path.join(folder, name)
            if name != target:
                # A copy, not a symbolic link: the grader refuses a folder
                # holding a link (lab.ReadFolder), as it must a student's.
                shutil.copyfile(src, dst)
            else:
                with open(src, encoding="utf-8") as f:
                    text = f.read()
                for old, new in replacements:
                    if text.count(old) != 1:
                        sys.exit("make_broken: %s: replacement for %s matches %d times" % (fault, name, text.count(old)))
                    text = text.replace(old, new)
                with open(dst, "w", encoding="utf-8") as f:
                    f.write(text)
            os.chmod(dst, os.stat(src).st_mode & 0o777)
        with open(os.path.join(folder, "FAULT.md"), "w", encoding="utf-8") as f:
            f.write("Fails check `%s` (only): %s Faulty file: `%s`.\n" % (check, description, target))
        print("wrote %s" % os.path.relpath(folder, os.path.dirname(BROKEN)))


if __name__ == "__main__":
    main()
