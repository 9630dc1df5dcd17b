package traffic

import (
	"fmt"
	"strings"
)

// Mermaid renders the diagram as a Mermaid sequenceDiagram, which GitHub
// and most Markdown viewers draw. Participants are named "host (IP)"; pure
// ACKs are dashed arrows.
func (d Diagram) Mermaid() string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	if d.Title != "" {
		fmt.Fprintf(&b, "    title %s\n", mermaidText(d.Title))
	}
	for i, p := range d.Participants {
		fmt.Fprintf(&b, "    participant P%d as %s\n", i, mermaidText(p.Label()))
	}
	for _, m := range d.Messages {
		arrow := "->>"
		if m.PureACK {
			arrow = "-->>"
		}
		fmt.Fprintf(&b, "    P%d%sP%d: %s\n", m.From, arrow, m.To, mermaidText(m.Label))
	}
	if d.Omitted > 0 && len(d.Participants) > 0 {
		last := len(d.Participants) - 1
		fmt.Fprintf(&b, "    Note over P0,P%d: %s\n", last, mermaidText(omittedNote(d.Omitted)))
	}
	return b.String()
}

func omittedNote(n int) string {
	return fmt.Sprintf("%d more packets in this window are not drawn: narrow it with --from/--to", n)
}

// mermaidText escapes s for a Mermaid label: characters the parser reads as
// syntax become #code; entity codes, and line breaks become spaces.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '#', ';', ':', '"', '<', '>', '%', '{', '}', '|', '\\', '`':
			fmt.Fprintf(&b, "#%d;", r)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
