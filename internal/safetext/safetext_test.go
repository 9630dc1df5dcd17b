package safetext

import "testing"

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain text stays", "hello <b>world</b>\n\tindented", "hello <b>world</b>\n\tindented"},
		{"colours", "\x1b[31mred\x1b[0m and \x1b[1;32mbold green\x1b[m", "red and bold green"},
		{"screen clear and cursor moves", "\x1b[2J\x1b[H\x1b[10;20Htext\x1b[K", "text"},
		{"OSC 52 clipboard write ended by BEL", "a\x1b]52;c;aGFja2Vk\x07b", "ab"},
		{"OSC title ended by ST", "a\x1b]0;pwned\x1b\\b", "ab"},
		{"OSC 8 hyperlink", "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"unterminated OSC runs to the end", "a\x1b]52;c;aGk=", "a"},
		{"OSC cut short by another sequence", "a\x1b]0;x\x1b[31mb", "ab"},
		{"DCS", "a\x1bP1$r0m\x1b\\b", "ab"},
		{"two-byte escapes", "a\x1b7b\x1b8c\x1b(Bd\x1bce", "abcde"},
		{"a lone ESC at the end", "a\x1b", "a"},
		{"C1 CSI and OSC", "a\u009b31mb\u009d0;t\u0007c", "abc"},
		{"carriage returns, backspaces, bells, NUL, DEL", "\r[INFO] x\b\a\x00y\x7f\r\n", "[INFO] xy\n"},
		{"bidi overrides and isolates", "a\u202eevil\u202c\u2066b\u2069\u200fc", "aevilbc"},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
		{"other Unicode stays", "æøå ✓ 日本", "æøå ✓ 日本"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clean(tc.in); got != tc.want {
				t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := OneLine("anna\x1b]52;c;aGk=\x07\n  <b>\x1b[2J"); got != "anna <b>" {
		t.Errorf("OneLine = %q, want %q", got, "anna <b>")
	}
}
