"""Self-check for the Lab 3 reference programs and their broken variants.

Runs every scenario on loopback against testdata/handout (all checks must
pass) and against each testdata/broken/<fault> (exactly the check named in
its FAULT.md must fail, every other check must pass; the folder must differ
from handout in exactly one program). By default a broken variant runs only
the scenarios of the milestone whose program it changes, since its other
programs are byte-identical to handout's; --full runs everything everywhere. Clients use the
addresses 127.0.0.11-13, so this needs Linux. Stdlib only.

Usage: python3 selfcheck.py [-v] [--full] [-j WORKERS] [VARIANT ...]
       VARIANT is "handout" or a fault name; default: all of them.
Exit status: 0 when everything is as expected, 1 otherwise.
"""
import argparse
import concurrent.futures
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
BROKEN = os.path.join(TESTDATA, "broken")
PROGRAMS = [
    "chatroom_server.py", "chatroom_client.py",
    "chatroom_p2p_server.py", "chatroom_p2p_client.py",
    "chatroom_auth_server.py", "chatroom_auth_client.py",
]
TIMEOUT = 15.0     # how long to wait for something that must happen (generous: CI machines are busy)
QUIET = 1.0        # how long to watch for something that must not happen
ALICE, BOB, CAROL, STRANGER = "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.99"

# below the ephemeral range (32768+), so client sockets never take them
_ports = itertools.count(random.randrange(10000, 25000, 100))
_ports_lock = threading.Lock()


def fresh_port() -> int:
    """A port number free for TCP on 127.0.0.1 and UDP on the test addresses."""
    while True:
        with _ports_lock:
            port = next(_ports)
        try:
            for ip, kind in [("127.0.0.1", socket.SOCK_STREAM)] + [(ip, socket.SOCK_DGRAM) for ip in (ALICE, BOB, CAROL, STRANGER)]:
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind((ip, port))
            return port
        except OSError:
            continue


class Proc:
    """A program under test with its stdout collected in the background."""

    def __init__(self, args, cwd=None):
        # few hash rounds: the check is about what is stored, not how slow it is
        env = dict(os.environ, PYTHONUNBUFFERED="1", LAB_HASH_ITERATIONS="1000")
        for k in ("LAB_SERVER", "LAB_PORT", "LAB_BIND", "LAB_P2P_PORT", "LAB_USERS"):
            env.pop(k, None)
        self.args = args
        self.p = subprocess.Popen([sys.executable] + args, cwd=cwd, env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = ""
        self.err = ""
        self.cond = threading.Condition()
        self.pumps = [threading.Thread(target=self._pump, args=(self.p.stdout, "out"), daemon=True),
                      threading.Thread(target=self._pump, args=(self.p.stderr, "err"), daemon=True)]
        for t in self.pumps:
            t.start()

    def _pump(self, stream, attr):
        while True:
            chunk = os.read(stream.fileno(), 4096)
            with self.cond:
                if chunk:
                    setattr(self, attr, getattr(self, attr) + chunk.decode(errors="replace"))
                self.cond.notify_all()
            if not chunk:
                return

    def text(self) -> str:
        with self.cond:
            return self.out.replace("\r", "")

    def lines(self):
        """Output lines without carriage returns and "[Me] " prompts."""
        return [re.sub(r"^(\[Me\] )+", "", l) for l in self.text().split("\n")]

    def send(self, line: str):
        try:
            self.p.stdin.write((line + "\n").encode())
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def close_stdin(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass

    def expect(self, needle: str, timeout: float = TIMEOUT, attr: str = "out") -> bool:
        """Wait until needle appears in the output (as a substring)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while needle not in getattr(self, attr).replace("\r", ""):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def expect_any(self, needles, timeout: float = TIMEOUT):
        """Wait until one of needles appears; return it, or None on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                text = self.out.replace("\r", "")
                for needle in needles:
                    if needle in text:
                        return needle
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def has_line(self, line: str) -> bool:
        return line in self.lines()

    def wait(self, timeout: float = TIMEOUT):
        """Exit status, or None if the program is still running after timeout."""
        try:
            status = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        # the output is complete only once the pumps have read to the end
        for t in self.pumps:
            t.join(TIMEOUT)
        return status

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            if self.wait(2) is None:
                self.p.kill()
                self.p.wait()
        self.close_stdin()


class Scenario:
    """One server plus its clients, all stopped at the end."""

    def __init__(self, impl: str, server: str, extra=()):
        self.impl = impl
        self.port = fresh_port()
        self.p2p = fresh_port()
        self.procs = []
        self.results = []
        self.server = self.start_server(server, extra)

    def start_server(self, server, extra=()):
        proc = Proc([os.path.join(self.impl, server)] + list(extra) + ["127.0.0.1", str(self.port)])
        self.procs.append(proc)
        if not proc.expect("Server started on IP", attr="err"):
            proc.stop()
            raise RuntimeError("server %s did not start: %s" % (server, proc.err))
        return proc

    def client(self, program: str, ip: str) -> Proc:
        args = [os.path.join(self.impl, program), "127.0.0.1", str(self.port), ip]
        if "p2p" in program or "auth" in program:
            args.append(str(self.p2p))
        proc = Proc(args)
        self.procs.append(proc)
        return proc

    def check(self, name: str, ok: bool, detail: str = ""):
        if not ok:
            detail += " | server: " + tail(self.server)
        self.results.append((name, bool(ok), detail))

    def close(self):
        for proc in self.procs:
            proc.stop()


def raw_recv(sock: socket.socket, timeout: float = TIMEOUT) -> bytes:
    """One recv(), or b"" on close or timeout."""
    sock.settimeout(timeout)
    try:
        return sock.recv(2048)
    except OSError:
        return b""


def raw_login(port: int, name: str):
    """Connect, answer the welcome with name; return (socket, welcome, reply)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    welcome = raw_recv(s)
    s.send(name.encode())
    return s, welcome, raw_recv(s)


def tail(proc: Proc) -> str:
    """The end of a program's output, for failure messages."""
    with proc.cond:
        err = proc.err.replace("\r", "")
    return "exit=%r out=%r err=%r" % (proc.p.poll(), proc.text()[-300:], err[-300:])


# --- Milestone 1 -----------------------------------------------------------

def m1_chat(impl):
    sc = Scenario(impl, "chatroom_server.py")
    try:
        alice = sc.client("chatroom_client.py", ALICE)
        alice.send("alice")
        sc.check("m1-welcome",
                 alice.expect("[Server] Welcome to this chatroom! Type your username and press enter to continue: \n")
                 and alice.expect("[Server] Your username (alice) is valid. You can start chatting now.\n"), tail(alice))
        bob = sc.client("chatroom_client.py", BOB)
        bob.send("bob")
        bob.expect("is valid")
        # the server announces bob before it reads bob's first message, and TCP
        # keeps the order, so once "ping" is shown the notice must be there too
        bob.send("ping")
        alice.expect("bob (IP: 127.0.0.12) says: ping")
        sc.check("m1-join-notice", "[Server] bob (IP: 127.0.0.12): connected" in alice.text(), tail(alice))
        alice.send("hello bob")
        sc.check("m1-broadcast", bob.expect("[Server] alice (IP: 127.0.0.11) says: hello bob"), tail(bob))
        # same trick: any echo of "hello bob" reaches alice before bob's "ack"
        bob.send("ack")
        alice.expect("bob (IP: 127.0.0.12) says: ack")
        sc.check("m1-no-echo", "says: hello bob" not in alice.text(), tail(alice))
        bob.send(":q")
        sc.check("m1-leave-notice", alice.expect("[Server] bob (IP: 127.0.0.12): is offline\n") and bob.wait() == 0,
                 tail(alice))
        alice.close_stdin()
        sc.check("m1-eof-exit", alice.wait() == 0, "exit status %r" % alice.p.poll())
    finally:
        sc.close()
    return sc.results


def m1_rules(impl):
    sc = Scenario(impl, "chatroom_server.py")
    try:
        s, welcome, reply = raw_login(sc.port, "x" * 20)
        sc.check("m1-unframed", welcome == b"Welcome to this chatroom! Type your username and press enter to continue: "
                 and reply == ("Your username (%s) is valid. You can start chatting now." % ("x" * 20)).encode(),
                 repr((welcome, reply)))
        bad = []
        for name in ["y" * 21, "two words", "   "]:
            r, _, reply = raw_login(sc.port, name)
            closed = raw_recv(r) == b""
            r.close()
            if reply != b"Invalid username. Please try again." or not closed:
                bad.append((name, reply, closed))
        sc.check("m1-username-rules", not bad, repr(bad))
        s.close()
    finally:
        sc.close()
    return sc.results


def m1_duplicate(impl):
    sc = Scenario(impl, "chatroom_server.py")
    try:
        alice = sc.client("chatroom_client.py", ALICE)
        alice.send("alice")
        alice.expect("is valid")
        twin = sc.client("chatroom_client.py", BOB)
        twin.send("alice")
        seen = twin.expect_any(["[Server] Username already taken. Please try again.\n", "is valid"])
        sc.check("m1-duplicate-rejected", seen == "[Server] Username already taken. Please try again.\n"
                 and twin.wait() == 0, tail(twin))
    finally:
        sc.close()
    return sc.results


def m1_piped(impl):
    sc = Scenario(impl, "chatroom_server.py")
    try:
        bob = sc.client("chatroom_client.py", BOB)
        bob.send("bob")
        bob.expect("is valid")
        alice = sc.client("chatroom_client.py", ALICE)
        alice.p.stdin.write(b"alice\nfirst\nsecond\n")
        alice.close_stdin()
        ok = alice.wait() == 0 and bob.expect("alice (IP: 127.0.0.11): is offline")
        # the pacing is right if the server got the lines as separate messages
        server_lines = sc.server.lines()
        want = ["Broadcast message from client: alice (IP: 127.0.0.11) says: first",
                "Broadcast message from client: alice (IP: 127.0.0.11) says: second",
                "Client disconnected: alice (IP: 127.0.0.11): is offline"]
        sc.check("m1-piped-client", ok and all(w in server_lines for w in want) and "says: second" in bob.text(),
                 tail(bob))
    finally:
        sc.close()
    return sc.results


# --- Milestone 2 -----------------------------------------------------------

def m2_chat(impl):
    sc = Scenario(impl, "chatroom_p2p_server.py")
    try:
        alice = sc.client("chatroom_p2p_client.py", ALICE)
        alice.send("alice")
        alice.expect("is valid")
        bob = sc.client("chatroom_p2p_client.py", BOB)
        bob.send("bob")
        sc.check("m2-join-notice", alice.expect("[Server] bob (IP: 127.0.0.12) connected\n"), tail(alice))
        carol = sc.client("chatroom_p2p_client.py", CAROL)
        carol.send("carol")
        alice.expect("carol (IP: 127.0.0.13) connected")
        # the server pushes the list before it reads carol's first message
        carol.send("here")
        bob.expect("[Server] carol (IP: 127.0.0.13) said: here\n")
        alice.expect("said: here")
        bob.send(":l")
        sc.check("m2-peer-list", bob.expect("Online peers: ['alice', 'bob', 'carol']\n"), tail(bob))

        alice.send("hi all")
        ok = bob.expect("[Server] alice (IP: 127.0.0.11) said: hi all\n") and carol.expect("said: hi all")
        time.sleep(QUIET)
        sc.check("m2-chat", ok and "said: hi all" not in alice.text(), tail(bob))

        alice.send("@bob: psst")
        ok = bob.expect_any(["[P2P] alice (IP: 127.0.0.11) says:  psst\n", "said: @bob"]) == "[P2P] alice (IP: 127.0.0.11) says:  psst\n"
        time.sleep(QUIET)
        sc.check("m2-p2p-udp", ok and "psst" not in carol.text() and "said: @bob" not in bob.text(), tail(bob))

        alice.send("@zed: hey")
        sc.check("m2-unknown-peer", alice.expect("User (zed) not found\n"), tail(alice))

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((STRANGER, 0))
            u.sendto(b"boo", (BOB, sc.p2p))
        ok = bob.expect("[P2P] unknown (IP: 127.0.0.99) says: boo\n")
        sc.check("m2-p2p-unknown-sender", ok and bob.p.poll() is None, tail(bob))

        bob.send(":q")
        sc.check("m2-leave-notice", alice.expect("[Server] bob (IP: 127.0.0.12) is offline\n") and bob.wait() == 0,
                 tail(alice))
        # the server pushes the list before it reads carol's next message
        carol.send("after")
        alice.expect("[Server] carol (IP: 127.0.0.13) said: after\n")
        alice.send(":l")
        alice.expect("Online peers: ")
        sc.check("m2-leave-push", alice.expect("Online peers: ['alice', 'carol']\n", 0.5), tail(alice))
    finally:
        sc.close()
    return sc.results


def m2_rules(impl):
    sc = Scenario(impl, "chatroom_p2p_server.py")
    try:
        r, _, reply = raw_login(sc.port, "y" * 21)
        sc.check("m2-invalid-username", reply == b"Invalid username. Please try again. " and raw_recv(r) == b"",
                 repr(reply))
        r.close()
        s, _, reply = raw_login(sc.port, "rawa")
        start = time.monotonic()
        pushed = raw_recv(s)
        delay = time.monotonic() - start
        sc.check("m2-peer-list-json", reply == b"Your username (rawa) is valid. You can start chatting now."
                 and pushed == json.dumps([["rawa", "127.0.0.1"]]).encode() and delay > 0.3,
                 repr((reply, pushed, round(delay, 2))))
        s.close()
    finally:
        sc.close()
    return sc.results


# --- Milestone 4 -----------------------------------------------------------

def auth_run(sc: Scenario, ip: str, answers, timeout=TIMEOUT):
    """A client fed all its input at once; return (exit status, output lines)."""
    proc = sc.client("chatroom_auth_client.py", ip)
    proc.p.stdin.write(("\n".join(answers) + "\n").encode())
    proc.close_stdin()
    return proc.wait(timeout), proc


def m4_flow(impl):
    tmp = tempfile.mkdtemp(prefix="lab3-selfcheck-")
    users = os.path.join(tmp, "users.json")
    sc = Scenario(impl, "chatroom_auth_server.py", ["--users", users])
    try:
        alice = sc.client("chatroom_auth_client.py", ALICE)
        for line in ["register", "alice", "alicepw"]:
            alice.send(line)
        ok = all(alice.expect(s) for s in [
            "[Server] Welcome to this chatroom! Type 'login' or 'register' and press enter to continue:\n",
            "[Server] Username:\n", "[Server] Password:\n",
            "[Server] Registration successful. Welcome, alice!\n", "Online peers: ['alice']\n"])
        sc.check("m4-register", ok, tail(alice))

        bob = sc.client("chatroom_auth_client.py", BOB)
        for line in ["register", "bob", "bobpw"]:
            bob.send(line)
        alice.expect("[Server] bob (IP: 127.0.0.12) connected\n")
        bob.expect("Online peers: ['alice', 'bob']")
        alice.send("hello")
        ok = bob.expect("[Server] alice (IP: 127.0.0.11) said: hello\n")
        alice.send("@bob: psst")
        ok = ok and bob.expect("[P2P] alice (IP: 127.0.0.11) says:  psst\n")
        sc.check("m4-chat-p2p", ok, tail(bob))

        try:
            with open(users, encoding="utf-8") as f:
                text = f.read()
            stored = json.loads(text)
            salts = {json.dumps(v, sort_keys=True) for v in stored.values()}
            ok = (set(stored) == {"alice", "bob"} and "alicepw" not in text and "bobpw" not in text
                  and len(salts) == 2)
        except (OSError, ValueError) as err:
            ok, text = False, str(err)
        sc.check("m4-passwords-hashed", ok, text[:200])

        status, twin = auth_run(sc, CAROL, ["login", "alice", "alicepw"])
        sc.check("m4-already-logged-in", status == 1 and twin.has_line("[Server] User already logged in."), tail(twin))

        alice.send(":q")
        bob.expect("[Server] alice (IP: 127.0.0.11) is offline\n")
        alice.wait()
        again = sc.client("chatroom_auth_client.py", ALICE)
        for line in ["login", "alice", "alicepw"]:
            again.send(line)
        ok = again.expect("[Server] Login successful. Welcome back, alice!\n") and again.expect("Online peers: ['bob', 'alice']\n")
        ok = ok and bob.expect("[Server] alice (IP: 127.0.0.11) connected\n")
        again.close_stdin()
        sc.check("m4-login-after-offline", ok and again.wait() == 0, tail(again))
    finally:
        sc.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return sc.results


def m4_errors(impl):
    tmp = tempfile.mkdtemp(prefix="lab3-selfcheck-")
    users = os.path.join(tmp, "users.json")
    sc = Scenario(impl, "chatroom_auth_server.py", ["--users", users])
    try:
        status, _ = auth_run(sc, ALICE, ["register", "alice", "alicepw"])
        status, p = auth_run(sc, ALICE, ["login", "alice", "wrong"])
        sc.check("m4-wrong-password-rejected", status == 1 and p.has_line("[Server] Invalid username or password."), tail(p))
        status, p = auth_run(sc, ALICE, ["login", "zed", "whatever"])
        sc.check("m4-unknown-user-rejected", status == 1 and p.has_line("[Server] Invalid username or password."), tail(p))
        status, p = auth_run(sc, ALICE, ["hello", "alice", "alicepw"])
        sc.check("m4-invalid-action", status == 1 and p.has_line("[Server] Invalid action. Type 'login' or 'register'."), tail(p))
        status, p = auth_run(sc, ALICE, ["register", "z" * 21, "pw"])
        sc.check("m4-invalid-username", status == 1 and p.has_line("[Server] Invalid username. Please try again."), tail(p))
        status, p = auth_run(sc, ALICE, ["register", "alice", "other"])
        status2, p2 = auth_run(sc, ALICE, ["login", "alice", "alicepw"])
        sc.check("m4-reregistration-rejected",
                 status == 1 and p.has_line("[Server] Username already taken. Please try again.")
                 and status2 == 0 and p2.has_line("[Server] Login successful. Welcome back, alice!"),
                 tail(p) + " / " + tail(p2))
    finally:
        sc.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return sc.results


def m4_persist(impl):
    tmp = tempfile.mkdtemp(prefix="lab3-selfcheck-")
    users = os.path.join(tmp, "users.json")
    sc = Scenario(impl, "chatroom_auth_server.py", ["--users", users])
    try:
        status, p = auth_run(sc, CAROL, ["register", "carol", "carolpw"])
        ok = status == 0 and os.path.exists(users)
        sc.server.stop()
        sc.port = fresh_port()
        sc.server = sc.start_server("chatroom_auth_server.py", ["--users", users])
        status, p = auth_run(sc, CAROL, ["login", "carol", "carolpw"])
        sc.check("m4-persisted", ok and status == 0 and p.has_line("[Server] Login successful. Welcome back, carol!"), tail(p))
    finally:
        sc.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return sc.results


SCENARIOS = [m1_chat, m1_rules, m1_duplicate, m1_piped, m2_chat, m2_rules, m4_flow, m4_errors, m4_persist]


def programs_of(scenario) -> set:
    """The two programs a scenario runs, from its milestone prefix."""
    return {
        "m1": {"chatroom_server.py", "chatroom_client.py"},
        "m2": {"chatroom_p2p_server.py", "chatroom_p2p_client.py"},
        "m4": {"chatroom_auth_server.py", "chatroom_auth_client.py"},
    }[scenario.__name__[:2]]


def variants():
    """[(name, folder, check it must fail or None)]"""
    found = [("handout", HERE, None)]
    if os.path.isdir(BROKEN):
        for name in sorted(os.listdir(BROKEN)):
            folder = os.path.join(BROKEN, name)
            fault = os.path.join(folder, "FAULT.md")
            if os.path.isfile(fault):
                with open(fault, encoding="utf-8") as f:
                    m = re.search(r"`([a-z0-9-]+)`", f.read())
                found.append((name, folder, m.group(1) if m else "?"))
    return found


def differing_programs(folder):
    """Programs in folder that are not byte-identical to the ones in handout."""
    differing = []
    for name in PROGRAMS:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            differing.append(name)
            continue
        with open(path, "rb") as a, open(os.path.join(HERE, name), "rb") as b:
            if a.read() != b.read():
                differing.append(name)
    return differing


def structure_problems(folder):
    """A broken folder must hold the six programs and differ from handout in exactly one."""
    problems = ["missing %s" % name for name in PROGRAMS if not os.path.isfile(os.path.join(folder, name))]
    differing = differing_programs(folder)
    if len(differing) != 1:
        problems.append("differs from handout in %d files %s, want 1" % (len(differing), differing))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every check")
    parser.add_argument("-j", "--jobs", type=int, default=16, help="scenarios run at once")
    parser.add_argument("--full", action="store_true",
                        help="run every scenario on every variant (default: on a broken variant, only the "
                             "scenarios that run its faulty program; the rest are byte-identical to handout, "
                             "which is always run in full)")
    parser.add_argument("only", nargs="*", help="variants to run (handout or fault names)")
    args = parser.parse_args()

    chosen = [v for v in variants() if not args.only or v[0] in args.only]
    started = time.monotonic()
    failures = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        plan = {}
        for v in chosen:
            changed = set(differing_programs(v[1]))
            plan[v] = [s for s in SCENARIOS if args.full or v[2] is None or programs_of(s) & changed]
        jobs = {(v, s.__name__): pool.submit(s, v[1]) for v in chosen for s in plan[v]}
        for variant in chosen:
            name, folder, must_fail = variant
            results = []
            for scenario in plan[variant]:
                try:
                    results += jobs[(variant, scenario.__name__)].result()
                except Exception as err:  # a crashed scenario is a failed check
                    results.append((scenario.__name__, False, "scenario error: %r" % err))
            failed = sorted(n for n, ok, _ in results if not ok)
            want = [must_fail] if must_fail else []
            problems = structure_problems(folder) if must_fail else []
            good = failed == want and not problems
            print("%-24s %s  %d checks, failed: %s%s" % (
                name, "OK  " if good else "FAIL", len(results), ", ".join(failed) or "none",
                "" if good else "  (want: %s)" % (", ".join(want) or "none")), flush=True)
            for problem in problems:
                print("    structure: %s" % problem)
            for n, ok, detail in results:
                unexpected = ok == (n in want)
                if args.verbose or unexpected:
                    print("    %s %-28s %s" % ("pass" if ok else "FAIL", n, detail if (unexpected or args.verbose) and not ok else ""))
            if not good:
                failures.append(name)
    print("%d variants, %s, %.1f s" % (len(chosen), "all as expected" if not failures else "unexpected: " + ", ".join(failures),
                                      time.monotonic() - started))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
