"""Checks your Lab 3 Milestone 3 answers against your own captures.

Put this file next to your notebook and your captures (chatserver.pcap,
client1.pcap, client2.pcap), then, as the handout's notebook does:

    from test_lab3 import TestLab3
    check_progress = TestLab3()            # or TestLab3("path/to/captures")
    check_progress.test_3_2(SYN_sequence_number, SYNACK_sequence_number,
                            SYNACK_ACKnowledgement_number)
    check_progress.test_3_3(number_of_fields_in_UDP_header, length_of_header_field,
                            maximum_number_of_bytes_in_UDP_payload,
                            largest_possible_source_port_number, protocol_number_for_UDP)

It says which answers are right and, for a wrong one, where to look in
Wireshark. It never prints the right answer: finding it is the exercise.
Python 3 standard library only; reads pcap and pcapng.
"""

import os
import struct

__all__ = ["TestLab3"]


# ---------------------------------------------------------------- reading

def _read_capture(path):
    """Returns the IP packets of a pcap or pcapng file as dicts."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError("%s is empty" % os.path.basename(path))
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        frames = _pcapng_frames(data)
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        frames = _pcap_frames(data)
    else:
        raise ValueError("%s is not a pcap or pcapng file" % os.path.basename(path))
    packets = []
    for number, linktype, frame in frames:
        p = _decode(linktype, frame)
        if p is not None:
            p["frame"] = number
            packets.append(p)
    return packets


def _pcap_frames(data):
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    pos, number = 24, 0
    while pos + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[pos + 8:pos + 12])[0]
        pos += 16
        if pos + incl > len(data):
            break  # a capture stopped mid-write: the rest is sound
        number += 1
        yield number, linktype, data[pos:pos + incl]
        pos += incl


def _pcapng_frames(data):
    pos, number, endian, links = 0, 0, "<", []
    while pos + 12 <= len(data):
        btype = data[pos:pos + 4]
        if btype == b"\x0a\x0d\x0d\x0a":
            endian = "<" if data[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(endian + "I", data[pos + 4:pos + 8])[0]
        if blen < 12 or pos + blen > len(data):
            break
        kind = struct.unpack(endian + "I", btype)[0]
        body = data[pos + 8:pos + blen - 4]
        if kind == 1:  # interface description
            links.append(struct.unpack(endian + "H", body[:2])[0])
        elif kind == 6:  # enhanced packet
            iface, _, _, caplen = struct.unpack(endian + "IIII", body[:16])
            number += 1
            yield number, links[iface] if iface < len(links) else 1, body[20:20 + caplen]
        elif kind == 3:  # simple packet
            number += 1
            yield number, links[0] if links else 1, body[4:]
        pos += blen


def _decode(linktype, frame):
    """Decodes Ethernet, Linux cooked (SLL, SLL2) and raw IP frames."""
    if linktype == 1:  # Ethernet, maybe with VLAN tags
        pos, ethertype = 14, struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
        while ethertype == 0x8100 and len(frame) >= pos + 4:
            ethertype = struct.unpack("!H", frame[pos + 2:pos + 4])[0]
            pos += 4
        ip = frame[pos:]
    elif linktype == 113:  # Linux SLL
        ip = frame[16:]
    elif linktype == 276:  # Linux SLL2
        ip = frame[20:]
    elif linktype in (101, 12, 228, 229):  # raw IP
        ip = frame
    else:
        return None
    if len(ip) < 20:
        return None
    version = ip[0] >> 4
    if version == 4:
        ihl = (ip[0] & 15) * 4
        proto, src, dst, rest = ip[9], ip[12:16], ip[16:20], ip[ihl:]
    elif version == 6 and len(ip) >= 40:
        proto, src, dst, rest = ip[6], ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    p = {"proto": proto, "src": src, "dst": dst}
    if proto == 6 and len(rest) >= 20:
        sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", rest[:14])
        p.update(sport=sport, dport=dport, seq=seq, ack=ack, syn=bool(flags & 2), has_ack=bool(flags & 16))
    elif proto == 17 and len(rest) >= 8:
        p.update(sport=struct.unpack("!H", rest[:2])[0], dport=struct.unpack("!H", rest[2:4])[0])
    return p


def _unicast(a):
    """Whether an address (4 or 16 bytes) can be a host's own: not
    loopback, link-local, multicast, broadcast or unspecified."""
    if len(a) == 4:
        return a[0] not in (0, 127) and a[0] < 224 and a[:2] != b"\xa9\xfe"
    return (a[0] != 0xff and a[:2] != b"\xfe\x80" and
            a not in (bytes(16), bytes(15) + b"\x01"))


def _local_address(packets):
    """The address in most TCP and UDP packets: the host the capture was
    taken on. Link-local, multicast and loopback traffic (IPv6 neighbour
    discovery, MLD, a local resolver) is no host's address and can
    outnumber a short chat."""
    count = {}
    for p in packets:
        if p["proto"] not in (6, 17):
            continue
        for a in {p["src"], p["dst"]}:
            if _unicast(a):
                count[a] = count.get(a, 0) + 1
    return max(count, key=count.get) if count else None


# ---------------------------------------------------------------- checking

class TestLab3:
    """The notebook's checker. path is the folder of your captures
    (default: the notebook's own folder)."""

    def __init__(self, path=None):
        self.path = path or os.getcwd()
        self._cache = {}

    def _packets(self, name):
        if name not in self._cache:
            for candidate in (name, name + "ng"):
                full = os.path.join(self.path, candidate)
                if os.path.exists(full):
                    self._cache[name] = _read_capture(full)
                    break
            else:
                self._cache[name] = None
        return self._cache[name]

    @staticmethod
    def _report(title, results):
        right = sum(1 for ok, _ in results if ok)
        print("%s: %d of %d right" % (title, right, len(results)))
        for ok, text in results:
            print("  %s %s" % ("PASS" if ok else "FAIL", text))
        return right == len(results)

    @staticmethod
    def _is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    def test_3_2(self, SYN_sequence_number, SYNACK_sequence_number, SYNACK_ACKnowledgement_number):
        """Task 3.2: the absolute sequence and acknowledgement numbers of
        client1's first connection, as chatserver.pcap shows them."""
        server_packets = self._packets("chatserver.pcap")
        if server_packets is None:
            print("Task 3.2: chatserver.pcap is not in %s: capture it as Task 3.1 says, or give its folder: TestLab3(\"folder\")" % self.path)
            return False
        client1 = self._packets("client1.pcap")
        server = _local_address(server_packets)
        client = _local_address(client1) if client1 else None
        syn = None
        for p in server_packets:
            if p["proto"] == 6 and p.get("syn") and not p.get("has_ack") and p["dst"] == server and (client is None or p["src"] == client):
                syn = p
                break
        if syn is None:
            print("Task 3.2: no connection request (SYN) from client1 in chatserver.pcap: start the capture before the clients connect, then capture again")
            return False
        synack = None
        for p in server_packets:
            if (p["proto"] == 6 and p.get("syn") and p.get("has_ack") and p["src"] == syn["dst"] and p["dst"] == syn["src"]
                    and p["sport"] == syn["dport"] and p["dport"] == syn["sport"]):
                synack = p
                break
        where_syn = "the first [SYN] from client1 to the server in chatserver.pcap"
        where_synack = "the [SYN, ACK] the server sends back right after it"
        relative = "; untick Edit > Preferences > Protocols > TCP > Relative sequence numbers, so Wireshark shows the absolute (raw) value"
        answers = [
            ("SYN_sequence_number", SYN_sequence_number, syn["seq"],
             "look at the Sequence Number of " + where_syn + relative),
            ("SYNACK_sequence_number", SYNACK_sequence_number, synack["seq"] if synack else None,
             "look at the Sequence Number of " + where_synack + relative),
            ("SYNACK_ACKnowledgement_number", SYNACK_ACKnowledgement_number, synack["ack"] if synack else None,
             "look at the Acknowledgment Number of " + where_synack + relative + "; it relates to the SYN's sequence number"),
        ]
        results = []
        for name, given, expected, hint in answers:
            if not self._is_int(given):
                results.append((False, "%s: give an integer (as Wireshark shows it, without dots or spaces)" % name))
            elif expected is None:
                results.append((False, "%s: chatserver.pcap has no [SYN, ACK] reply to client1's SYN: was the server listening while you captured?" % name))
            elif given == expected:
                results.append((True, name))
            else:
                results.append((False, "%s: not what your capture shows; %s" % (name, hint)))
        return self._report("Task 3.2", results)

    def test_3_3(self, number_of_fields_in_UDP_header, length_of_header_field,
                 maximum_number_of_bytes_in_UDP_payload, largest_possible_source_port_number,
                 protocol_number_for_UDP):
        """Task 3.3: the UDP header of a direct message in client1.pcap."""
        packets = self._packets("client1.pcap")
        note = None
        proto = 17
        if packets is None:
            note = "client1.pcap is not in %s; checking the answers without it" % self.path
        else:
            udp = [p for p in packets if p["proto"] == 17 and "sport" in p and not {53, 5353} & {p["sport"], p["dport"]}]
            if not udp:
                note = "client1.pcap holds no direct UDP message to the other client: send one (@user) while capturing"
            else:
                proto = udp[0]["proto"]
        one = "select one UDP packet of a direct message (filter: udp && !dns) and expand User Datagram Protocol in the packet details"
        answers = [
            ("number_of_fields_in_UDP_header", number_of_fields_in_UDP_header, (4,),
             one + "; count the lines directly under it that are header fields (leave out the payload and what Wireshark computes itself, such as [Stream index] and [Timestamps])"),
            ("length_of_header_field", length_of_header_field, (2,),
             one + "; click one field and read how many bytes the packet bytes pane highlights"),
            ("maximum_number_of_bytes_in_UDP_payload", maximum_number_of_bytes_in_UDP_payload, (65527, 65507),
             "the Length field counts header and payload together in 16 bits: work out its largest value and subtract the UDP header (and, over IPv4, think about the IP header too)"),
            ("largest_possible_source_port_number", largest_possible_source_port_number, (65535,),
             "a port is one header field: how large a number fits in that many bits?"),
            ("protocol_number_for_UDP", protocol_number_for_UDP, (proto,),
             "expand Internet Protocol Version 4 of the same packet and read its Protocol field (the number in brackets)"),
        ]
        results = []
        for name, given, accepted, hint in answers:
            if not self._is_int(given):
                results.append((False, "%s: give an integer" % name))
            elif given in accepted:
                results.append((True, name))
            else:
                results.append((False, "%s: not right; %s" % (name, hint)))
        if note:
            print("note: " + note)
        return self._report("Task 3.3", results)
