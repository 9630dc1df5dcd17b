package chat

import (
	"fmt"
	"strings"
	"unicode"
)

// Mode selects the milestone whose behaviour and user-visible strings are used.
type Mode int

const (
	// ModeChatroom is Milestone 1: a chat room without a peer list.
	ModeChatroom Mode = iota + 1
	// ModeP2P is Milestone 2: the chat room plus peer-list pushes and UDP
	// direct messages between clients.
	ModeP2P
	// ModeAuth is Milestone 4: Milestone 2 behind a login or register dialogue.
	ModeAuth
)

// ParseMode returns the Mode named by s: "chatroom", "p2p" or "auth".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "chatroom":
		return ModeChatroom, nil
	case "p2p":
		return ModeP2P, nil
	case "auth":
		return ModeAuth, nil
	}
	return 0, fmt.Errorf("unknown mode %q: want chatroom, p2p or auth", s)
}

// String returns the flag spelling of m.
func (m Mode) String() string {
	switch m {
	case ModeChatroom:
		return "chatroom"
	case ModeP2P:
		return "p2p"
	case ModeAuth:
		return "auth"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// hasPeerList reports whether the mode pushes the list of connected users.
func (m Mode) hasPeerList() bool { return m == ModeP2P || m == ModeAuth }

// Capability negotiation. A client that understands line framing appends
// Marker and "\n" to its first reply; handout servers strip the marker
// because Python's str.strip treats U+001E as whitespace. The server answers
// such a client with Hello before anything else.
const (
	// Marker is the ASCII record separator that announces a framed client
	// and prefixes control records (hello, peer list, peer delta).
	Marker = 0x1E
	// Hello is the first line a framing server sends to a framing client.
	Hello = "\x1eLAB3/1\n"
)

// User-visible strings of the handout and of the Milestone 4 dialogue.
const (
	WelcomeChat        = "Welcome to this chatroom! Type your username and press enter to continue: "
	WelcomeAuth        = "Welcome to this chatroom! Type 'login' or 'register' and press enter to continue: "
	PromptUsername     = "Username: "
	PromptPassword     = "Password: "
	MsgInvalidUsername = "Invalid username. Please try again."
	MsgUsernameTaken   = "Username already taken. Please try again."
	MsgInvalidAction   = "Invalid action. Type 'login' or 'register'."
	MsgBadCredentials  = "Invalid username or password."
	MsgAlreadyLoggedIn = "User already logged in."
	MsgThrottled       = "Too many failed login attempts. Try again later."
	// MsgRegistrationsLimited is not in the handout, whose server has no
	// such limit.
	MsgRegistrationsLimited = "Too many registrations from your address. Try again later."
	formatConfirmation      = "Your username (%s) is valid. You can start chatting now."
	formatRegistered        = "Registration successful. Welcome, %s!"
	formatLoggedIn          = "Login successful. Welcome back, %s!"
	formatTooLong           = "Message too long (max %d bytes). Closing connection."
)

// MaxUsernameLen is the longest accepted username, in characters.
const MaxUsernameLen = 20

// ValidUsername reports whether name is acceptable as the handout defines
// it: not empty, at most 20 characters and without spaces (of any kind, so
// that no stripping on either side can change a name). Names with control
// characters or invalid UTF-8 are refused too, so a name never needs
// neutralising.
func ValidUsername(name string) bool {
	if name == "" {
		return false
	}
	n := 0
	for _, r := range name {
		n++
		if n > MaxUsernameLen || !printable(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return Sanitize(name) == name
}

// ValidPeerName is ValidUsername for the modes that push peer lists: a name
// may not start with '[', because the notices that start with it would
// then read as a peer list to the handout's client, which json.loads every
// message starting with '['.
func ValidPeerName(name string) bool {
	return ValidUsername(name) && !strings.HasPrefix(name, "[")
}

// invalidUsernameMsg is the rejection text; the Milestone 2 handout server
// sends it with a trailing space, and legacy clients get its exact bytes.
func invalidUsernameMsg(m Mode) string {
	if m == ModeP2P {
		return MsgInvalidUsername + " "
	}
	return MsgInvalidUsername
}

// notices formats the server's announcements for one mode.
type notices struct{ mode Mode }

func (n notices) joined(name, ip string) string {
	if n.mode == ModeChatroom {
		return fmt.Sprintf("%s (IP: %s): connected", name, ip)
	}
	return fmt.Sprintf("%s (IP: %s) connected", name, ip)
}

func (n notices) left(name, ip string) string {
	if n.mode == ModeChatroom {
		return fmt.Sprintf("%s (IP: %s): is offline", name, ip)
	}
	return fmt.Sprintf("%s (IP: %s) is offline", name, ip)
}

// said prefixes a chat message; the body is appended by the caller so a
// broadcast is built with one allocation.
func (n notices) saidPrefix(name, ip string) string {
	if n.mode == ModeChatroom {
		return name + " (IP: " + ip + ") says: "
	}
	return name + " (IP: " + ip + ") said: "
}

// isPythonSpace reports whether b is stripped by Python's str.strip for
// ASCII input, which includes the separators 0x1C-0x1F.
func isPythonSpace(b byte) bool {
	switch b {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1C, 0x1D, 0x1E, 0x1F:
		return true
	}
	return false
}

// pyStrip trims what Python's str.strip would trim from ASCII edges.
func pyStrip(b []byte) []byte {
	for len(b) > 0 && isPythonSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isPythonSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// PyStrip trims s as Python's str.strip does for ASCII whitespace and the
// separators 0x1C-0x1F.
func PyStrip(s string) string { return string(pyStrip([]byte(s))) }
