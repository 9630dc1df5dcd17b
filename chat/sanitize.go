package chat

import (
	"unicode/utf8"
)

// Sanitize neutralises text before it is shown on someone's terminal:
// invalid UTF-8, C0 and C1 control characters (so ESC and CSI sequences),
// DEL and the Unicode bidirectional overrides become U+FFFD. A tab becomes a
// space. Text that needs no change is returned without copying.
func Sanitize(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7F {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !printable(r) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	out = append(out, s[:i]...)
	return string(appendSanitized(out, []byte(s[i:])))
}

// appendSanitized appends src to dst, neutralised as Sanitize does.
func appendSanitized(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		if c >= 0x20 && c < 0x7F {
			dst = append(dst, c)
			i++
			continue
		}
		if c == '\t' {
			dst = append(dst, ' ')
			i++
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		if (r == utf8.RuneError && size == 1) || !printable(r) {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, src[i:i+size]...)
		}
		i += size
	}
	return dst
}

// printable reports whether r may be written to a terminal as is.
func printable(r rune) bool {
	switch {
	case r < 0x20, r == 0x7F, r >= 0x80 && r < 0xA0:
		return false
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		// Bidirectional overrides and isolates can disguise the rest of a line.
		return false
	}
	return true
}
