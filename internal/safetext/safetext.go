// Package safetext makes text that a submission controls safe to show as
// text, wherever it lands: a terminal, a file a TA may cat, a CSV cell, a
// page (html/template escapes markup; Clean removes what no escaping
// does: terminal control sequences, other control characters, bidi
// overrides, invalid UTF-8).
package safetext

import (
	"strings"
	"unicode/utf8"
)

// Clean makes text a submission controls (a name, a transcript, an answer,
// evidence) safe to show as text: terminal control sequences (CSI such as
// "\x1b[2J", OSC such as "\x1b]52;c;…\x07" that writes a terminal's
// clipboard, DCS, APC, PM, SOS and two-byte escapes) are removed whole;
// other control characters but newline and tab are dropped (a carriage
// return too: the handout's logging starts every line with one); the
// Unicode bidirectional overrides and isolates, which can make text read
// in another order than it is, are dropped; invalid UTF-8 becomes U+FFFD.
// HTML escaping is html/template's job, not Clean's.
func Clean(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0x1b {
			i = skipEscape(s, i)
			continue
		}
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != 0x7f || c == '\n' || c == '\t' {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == 0x9b: // CSI as one C1 character
			i = skipCSI(s, i+size)
			continue
		case r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f: // OSC, DCS, SOS, PM, APC
			i = skipString(s, i+size)
			continue
		case r >= 0x80 && r <= 0x9f, isBidiControl(r):
			// dropped
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// OneLine is Clean with every run of white space (newlines included) made
// one space and the ends trimmed: for a name, a file name, a table cell.
func OneLine(s string) string {
	return strings.Join(strings.Fields(Clean(s)), " ")
}

// isPlain reports whether s holds only printable ASCII, newlines and tabs,
// the common case, which Clean returns as it is.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// skipEscape returns the index just past the escape sequence starting
// with the ESC at s[i].
func skipEscape(s string, i int) int {
	i++ // ESC
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[':
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_':
		return skipString(s, i+1)
	}
	// ESC, intermediates (0x20-0x2f), one final byte (0x30-0x7e).
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipCSI skips a control sequence's parameters, intermediates and final
// byte, from i (just past "ESC [").
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipString skips a control string (OSC, DCS, SOS, PM, APC) from i up to
// and including its terminator: BEL, ESC \ or the one-character ST
// (U+009C); an unterminated one runs to the end of s.
func skipString(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i // another sequence begins: the caller skips it
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
		i++
	}
	return i
}

// isBidiControl reports the embedding, override and isolate characters
// (U+202A-U+202E, U+2066-U+2069) and the marks (U+200E, U+200F, U+061C).
func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// CSVCell neutralises a spreadsheet formula in a cell that came from a
// student (or a roster): a cell starting with = + - @, a tab or a carriage
// return gets a leading ', which spreadsheets read as "text".
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
