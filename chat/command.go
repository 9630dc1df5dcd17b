package chat

import "strings"

// ParseDirect parses a direct-message command "@user: message". It
// reports false when line is not such a command. Spaces after the colon
// are dropped; the message may be empty.
func ParseDirect(line string) (user, msg string, ok bool) {
	if !strings.HasPrefix(line, "@") {
		return "", "", false
	}
	user, msg, ok = strings.Cut(line[1:], ":")
	if !ok || user == "" {
		return "", "", false
	}
	return user, strings.TrimLeft(msg, " "), true
}
