package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Peer is one connected user as the peer list names it.
type Peer struct {
	Name string
	IP   string
}

// ErrNotPeerList is returned when bytes do not hold a peer list.
var ErrNotPeerList = errors.New("not a peer list")

// AppendPeerList appends peers encoded as Python's json.dumps encodes a list
// of (name, ip) tuples: `[["alice", "127.0.0.11"], ["bob", "127.0.0.12"]]`.
func AppendPeerList(dst []byte, peers []Peer) []byte {
	dst = append(dst, '[')
	for i, p := range peers {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendPeer(dst, p)
	}
	return append(dst, ']')
}

func appendPeer(dst []byte, p Peer) []byte {
	dst = append(dst, '[')
	dst = appendPyJSONString(dst, p.Name)
	dst = append(dst, ", "...)
	dst = appendPyJSONString(dst, p.IP)
	return append(dst, ']')
}

// appendPyJSONString encodes s as json.dumps does with ensure_ascii=True.
func appendPyJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"':
			dst = append(dst, '\\', '"')
		case r == '\\':
			dst = append(dst, '\\', '\\')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r == '\b':
			dst = append(dst, '\\', 'b')
		case r == '\f':
			dst = append(dst, '\\', 'f')
		case r >= 0x20 && r < 0x7F:
			dst = append(dst, byte(r))
		default:
			units := []rune{r}
			if r > 0xFFFF {
				r -= 0x10000
				units = []rune{0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF}
			}
			for _, u := range units {
				dst = append(dst, '\\', 'u', hex[u>>12&0xF], hex[u>>8&0xF], hex[u>>4&0xF], hex[u&0xF])
			}
		}
	}
	return append(dst, '"')
}

// ParsePeerList decodes the first JSON value of data as a peer list and
// returns the bytes that follow it. Leading whitespace is skipped. Entries
// are [name, ip] pairs; names and addresses are neutralised with Sanitize.
func ParsePeerList(data []byte) (peers []Peer, rest []byte, err error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, data, ErrNotPeerList
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var raw [][]string
	if err := dec.Decode(&raw); err != nil {
		return nil, data, fmt.Errorf("%w: %w", ErrNotPeerList, err)
	}
	peers = make([]Peer, 0, len(raw))
	for _, pair := range raw {
		if len(pair) != 2 {
			return nil, data, fmt.Errorf("%w: entry has %d fields, want 2", ErrNotPeerList, len(pair))
		}
		peers = append(peers, Peer{Name: Sanitize(pair[0]), IP: Sanitize(pair[1])})
	}
	return peers, trimmed[dec.InputOffset():], nil
}

// Delta is a change to the peer list sent to framed clients: names in Del
// leave, then peers in Add join. It is encoded on the wire as
// `{"add":[["bob","127.0.0.12"]],"del":["alice"]}` after the Marker byte.
type Delta struct {
	Add []Peer
	Del []string
}

// AppendDelta appends the JSON encoding of d.
func AppendDelta(dst []byte, d Delta) []byte {
	dst = append(dst, `{"add":[`...)
	for i, p := range d.Add {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendPeer(dst, p)
	}
	dst = append(dst, `],"del":[`...)
	for i, n := range d.Del {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendPyJSONString(dst, n)
	}
	return append(dst, "]}"...)
}

// ParseDelta decodes a delta object as AppendDelta writes it.
func ParseDelta(data []byte) (Delta, error) {
	var raw struct {
		Add [][]string `json:"add"`
		Del []string   `json:"del"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Delta{}, fmt.Errorf("parse peer delta: %w", err)
	}
	var d Delta
	for _, pair := range raw.Add {
		if len(pair) != 2 {
			return Delta{}, fmt.Errorf("parse peer delta: entry has %d fields, want 2", len(pair))
		}
		d.Add = append(d.Add, Peer{Name: Sanitize(pair[0]), IP: Sanitize(pair[1])})
	}
	for _, n := range raw.Del {
		d.Del = append(d.Del, Sanitize(n))
	}
	return d, nil
}

// Apply returns peers changed by d, keeping join order: deleted names are
// removed, then added peers replace an entry of the same name or are
// appended.
func (d Delta) Apply(peers []Peer) []Peer {
	out := make([]Peer, 0, len(peers)+len(d.Add))
	for _, p := range peers {
		del := false
		for _, n := range d.Del {
			if p.Name == n {
				del = true
				break
			}
		}
		if !del {
			out = append(out, p)
		}
	}
	for _, a := range d.Add {
		replaced := false
		for i := range out {
			if out[i].Name == a.Name {
				out[i] = a
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, a)
		}
	}
	return out
}

// Piece is one message recovered from an unframed read: either text or a
// peer list.
type Piece struct {
	Text   string
	Peers  []Peer
	IsList bool
}

// SplitUnframed splits one read from a server that does not frame its
// messages. As a handout client does, the read is stripped. A handout
// server sends a peer list as a send() of its own after sleeping 0.5 s, so
// a list is taken only where that send can start a read:
//
//   - the whole read, when it is nothing but lists (several when pushes
//     piled up);
//   - the start of the read, with the next message glued after it. The
//     server's sleep ends with the list and then, at once, the messages
//     that arrived meanwhile, such as the line of a user who answered the
//     join notice, and a client often reads both together. Such a list
//     must be a push as json.dumps writes it, with ", " inside every entry
//     (a handout username has no spaces, so no name can hold one), not
//     empty (a push always names its receiver, while "[]" fits in a name),
//     and followed by the next message with only line breaks between, never
//     by a space (the handout's notices put " (IP: " right after a name).
//
// Anything else is one text piece, so a list typed into a chat line, which
// arrives after a "said:" prefix, never changes anyone's peers. That
// includes a list glued after text, although a client that did not read
// for the server's whole 0.5 s sleep could in principle see a real push
// there: a chat line or notice ending in a list produces that read on
// demand, and a read that starts mid-line cannot be told from one that
// starts at a send.
//
// Every entry of a list must be a plausible name and an IP address: a
// handout server accepts names such as `[["x","`, and a chat line could
// then complete them into something that parses as a list, but the server's
// own text between the two (" (IP: 10.0.0.5) said: ") always lands inside a
// name or address and makes it implausible.
func SplitUnframed(read []byte) []Piece {
	b := pyStrip(read)
	if len(b) == 0 {
		return nil
	}
	var pieces []Piece
	// pieces[:glued] are lists that may stand before text, which is what
	// follows them.
	glued, text := 0, b
	for len(b) > 0 {
		peers, rest, ok := leadingPeerList(b)
		if !ok {
			break
		}
		pieces = append(pieces, Piece{Peers: peers, IsList: true})
		canGlue := glued == len(pieces)-1 && gluedPush(b[:len(b)-len(rest)], peers, rest)
		b = pyStrip(rest)
		if canGlue {
			glued, text = len(pieces), b
		}
	}
	if len(b) == 0 {
		return pieces
	}
	return append(pieces[:glued], Piece{Text: Sanitize(string(text))})
}

// leadingPeerList parses the plausible peer list that b starts with and
// returns the bytes after it.
func leadingPeerList(b []byte) (peers []Peer, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '[' {
		return nil, nil, false
	}
	peers, rest, err := ParsePeerList(b)
	if err != nil || !plausiblePeers(peers) {
		return nil, nil, false
	}
	return peers, rest, true
}

// gluedPush reports whether list, decoded as peers and followed in the
// same read by rest, can be a handout server's push with the next message
// glued after it (see SplitUnframed).
func gluedPush(list []byte, peers []Peer, rest []byte) bool {
	next := bytes.TrimLeft(rest, "\r\n")
	if len(peers) == 0 || len(next) == 0 || isPythonSpace(next[0]) {
		return false
	}
	return bytes.Equal(list, AppendPeerList(nil, peers))
}

// plausiblePeers reports whether every entry of a received list has a name
// without spaces or control characters and a valid IP address.
func plausiblePeers(peers []Peer) bool {
	for _, p := range peers {
		if p.Name == "" || strings.ContainsRune(p.Name, utf8.RuneError) {
			return false
		}
		for _, r := range p.Name {
			if unicode.IsSpace(r) || !printable(r) {
				return false
			}
		}
		if _, err := netip.ParseAddr(p.IP); err != nil {
			return false
		}
	}
	return true
}

// PeerName returns the name the peer list gives the address ip, or
// "unknown" when no peer, or more than one, has that address: a datagram
// is shown as coming from a name only when the list vouches for it.
func PeerName(peers []Peer, ip string) string {
	name := "unknown"
	for _, p := range peers {
		if p.IP != ip {
			continue
		}
		if name != "unknown" && name != p.Name {
			return "unknown"
		}
		name = p.Name
	}
	return name
}

// FormatPeerNames renders names as Python prints a list of str, e.g.
// "['alice', 'bob']", as the handout client's ":l" command shows them.
func FormatPeerNames(peers []Peer) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for i, p := range peers {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(pyRepr(p.Name))
	}
	sb.WriteByte(']')
	return sb.String()
}

// pyRepr quotes s as Python's repr does for printable strings.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var sb strings.Builder
	sb.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\':
			sb.WriteString(`\\`)
		case r == rune(quote):
			sb.WriteByte('\\')
			sb.WriteByte(quote)
		case r == utf8.RuneError || printable(r):
			sb.WriteRune(r)
		default:
			sb.WriteString(strconv.QuoteRuneToASCII(r)[1 : len(strconv.QuoteRuneToASCII(r))-1])
		}
	}
	sb.WriteByte(quote)
	return sb.String()
}
