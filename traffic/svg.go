package traffic

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// SVG page geometry: A4 portrait at 800 px wide, so that a printed page of
// the report holds one page of the diagram at a readable size.
const (
	svgWidth      = 800
	svgPageHeight = 1131 // 800 × 297/210
	svgMargin     = 24
	svgFont       = 12 // labels; nothing is drawn smaller than svgSmallFont
	svgSmallFont  = 11
	svgLineHeight = 15
	svgHeaderH    = 42
	svgMinLabelW  = 260
	svgMaxLabelW  = 420
	svgCharW      = 0.6 * svgFont // monospace advance
	svgFooterH    = 28
)

// SVG draws the diagram itself (no external renderer): lifelines, arrows and
// wrapped labels on A4-sized pages stacked top to bottom, each page with
// its own participant header, so the picture can be cut at every
// 1131 px and printed page by page.
func (d Diagram) SVG() []byte {
	pages, used := d.layout()
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	h := svgPageHeight * len(pages)
	if len(pages) == 1 {
		// One page is cropped to its content, to sit in a report as a figure.
		h = used
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="%d">`+"\n",
		svgWidth, h, svgWidth, h, svgFont)
	b.WriteString(svgDefs)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, h)
	for i, p := range pages {
		fmt.Fprintf(&b, `<g transform="translate(0,%d)">`+"\n", i*svgPageHeight)
		b.WriteString(p)
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// SVGPages draws the same pages as SVG, one standalone document per page.
func (d Diagram) SVGPages() [][]byte {
	var out [][]byte
	pages, _ := d.layout()
	for _, p := range pages {
		var b bytes.Buffer
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
		fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="%d">`+"\n",
			svgWidth, svgPageHeight, svgWidth, svgPageHeight, svgFont)
		b.WriteString(svgDefs)
		fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, svgPageHeight)
		b.WriteString(p)
		b.WriteString("</svg>\n")
		out = append(out, b.Bytes())
	}
	return out
}

const svgDefs = `<defs>
<marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker>
<marker id="head-tcp" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1f3b73"/></marker>
<marker id="head-udp" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1b6e2a"/></marker>
<marker id="head-dns" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#6a2c8a"/></marker>
<marker id="head-other" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker>
</defs>
`

func protoStyle(proto string) (color, marker string) {
	switch proto {
	case "TCP":
		return "#1f3b73", "head-tcp"
	case "UDP":
		return "#1b6e2a", "head-udp"
	case "DNS":
		return "#6a2c8a", "head-dns"
	}
	return "#555555", "head-other"
}

// svgEsc escapes text for XML character data and attribute values.
func svgEsc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// wrap breaks s into lines of at most width characters, at spaces where it
// can and inside a word where it must.
func wrap(s string, width int) []string {
	if width < 8 {
		width = 8
	}
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		for len(w) > 0 {
			need := len(w)
			if len(cur) > 0 {
				need++
			}
			if len(cur)+need <= width {
				if len(cur) > 0 {
					cur = append(cur, ' ')
				}
				cur = append(cur, w...)
				w = nil
				continue
			}
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = cur[:0]
				continue
			}
			// A word longer than a line breaks after punctuation where it
			// can, else at the line's end.
			cut := width
			for k := width - 1; k > 0; k-- {
				if strings.ContainsRune("-,/=;:.", w[k]) {
					cut = k + 1
					break
				}
			}
			lines = append(lines, string(w[:cut]))
			w = w[cut:]
		}
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// layout splits the diagram into page bodies (SVG elements in page
// coordinates).
func (d Diagram) layout() (pages []string, lastHeight int) {
	n := max(len(d.Participants), 1)
	colW := float64(svgWidth-2*svgMargin) / float64(n)
	colX := func(i int) float64 { return svgMargin + colW*(float64(i)+0.5) }

	avail := float64(svgWidth - 2*svgMargin)
	titleChars := int(avail / (0.6 * 14))
	reasonChars := int(avail / (0.6 * svgSmallFont))
	noteChars := int((avail - 16) / svgCharW)
	var page strings.Builder
	var y float64
	bodyTop := 0.0

	header := func(first bool) {
		y = svgMargin
		if first {
			for _, l := range wrap(d.Title, titleChars) {
				y += 16
				fmt.Fprintf(&page, `<text x="%d" y="%.1f" font-size="14" font-weight="bold">%s</text>`+"\n", svgMargin, y, svgEsc(l))
			}
			for _, l := range wrap(d.Window.Reason, reasonChars) {
				y += 14
				fmt.Fprintf(&page, `<text x="%d" y="%.1f" font-size="%d" fill="#333333">%s</text>`+"\n", svgMargin, y, svgSmallFont, svgEsc(l))
			}
			y += 10
		}
		// The host name, then one address a line (an unknown host is its
		// address alone).
		maxChars := int((colW - 6) / (0.6 * svgSmallFont))
		lines := make([][]string, len(d.Participants))
		rows := 1
		for i, p := range d.Participants {
			for _, a := range p.Addrs {
				lines[i] = append(lines[i], a.String())
			}
			if p.Host != "" {
				lines[i] = append([]string{p.Host}, lines[i]...)
			}
			rows = max(rows, len(lines[i]))
		}
		boxH := float64(svgHeaderH + (rows-2)*svgLineHeight)
		for i := range d.Participants {
			x := colX(i)
			fmt.Fprintf(&page, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="4" fill="#eef2f8" stroke="#1f3b73"/>`+"\n",
				x-colW/2+3, y, colW-6, boxH)
			for k, l := range lines[i] {
				style := fmt.Sprintf(`font-size="%d"`, svgSmallFont)
				if k == 0 {
					style = `font-weight="bold"`
				}
				fmt.Fprintf(&page, `<text x="%.1f" y="%.1f" text-anchor="middle" %s>%s</text>`+"\n",
					x, y+17+float64(k)*svgLineHeight, style, svgEsc(clip(l, maxChars)))
			}
		}
		y += boxH + 8
		bodyTop = y
	}
	finish := func(last bool) {
		bottom := y + 4
		var lifelines strings.Builder
		for i := range d.Participants {
			fmt.Fprintf(&lifelines, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999999" stroke-width="1" stroke-dasharray="2,3"/>`+"\n",
				colX(i), bodyTop-8, colX(i), bottom)
		}
		// Lifelines go under the arrows and labels.
		body := page.String()
		page.Reset()
		page.WriteString(lifelines.String())
		page.WriteString(body)
		pages = append(pages, page.String())
		page.Reset()
		lastHeight = int(bottom) + svgMargin
		_ = last
	}
	limit := float64(svgPageHeight - svgMargin - svgFooterH)

	header(true)
	for _, m := range d.Messages {
		x1, x2 := colX(m.From), colX(m.To)
		span := x2 - x1
		if span < 0 {
			span = -span
		}
		// A label may be as wide as its arrow, or as the room centred on
		// the arrow allows (up to svgMaxLabelW), and never narrower than
		// svgMinLabelW.
		mid := (x1 + x2) / 2
		room := 2 * min(mid-svgMargin, svgWidth-svgMargin-mid)
		w := max(span-8, min(room, svgMaxLabelW), svgMinLabelW)
		w = min(w, float64(svgWidth-2*svgMargin))
		lines := wrap(m.Label, int(w/svgCharW))
		rowH := float64(len(lines))*svgLineHeight + 14
		if m.From == m.To {
			rowH += 12
		}
		if y+rowH > limit {
			finish(false)
			header(false)
		}
		// Centre the label over the arrow, kept inside the page.
		textW := 0.0
		for _, l := range lines {
			textW = max(textW, float64(len([]rune(l)))*svgCharW)
		}
		cx := (x1 + x2) / 2
		if m.From == m.To {
			cx = x1 + textW/2 + 6
		}
		cx = max(cx, svgMargin+textW/2)
		cx = min(cx, svgWidth-svgMargin-textW/2)
		color, marker := protoStyle(m.Proto)
		for i, l := range lines {
			fmt.Fprintf(&page, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s" stroke="#ffffff" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
				cx, y+float64(i+1)*svgLineHeight-3, color, svgEsc(l))
		}
		ay := y + float64(len(lines))*svgLineHeight + 4
		dash := ""
		if m.PureACK {
			dash = ` stroke-dasharray="6,4"`
		}
		title := svgEsc(m.Frame.String() + "  " + m.Frame.Time.Format("15:04:05.000000"))
		if m.From == m.To {
			fmt.Fprintf(&page, `<path d="M%.1f,%.1f h30 v12 h-30" fill="none" stroke="%s" stroke-width="1.4"%s marker-end="url(#%s)"><title>%s</title></path>`+"\n",
				x1, ay, color, dash, marker, title)
		} else {
			fmt.Fprintf(&page, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.4"%s marker-end="url(#%s)"><title>%s</title></line>`+"\n",
				x1, ay, x2, ay, color, dash, marker, title)
		}
		y += rowH
	}
	if d.Omitted > 0 {
		note := omittedNote(d.Omitted)
		lines := wrap(note, noteChars)
		h := float64(len(lines))*svgLineHeight + 10
		if y+h > limit {
			finish(false)
			header(false)
		}
		fmt.Fprintf(&page, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="#fff8dc" stroke="#b8860b"/>`+"\n",
			svgMargin, y, svgWidth-2*svgMargin, h)
		for i, l := range lines {
			fmt.Fprintf(&page, `<text x="%d" y="%.1f">%s</text>`+"\n", svgMargin+8, y+float64(i+1)*svgLineHeight, svgEsc(l))
		}
		y += h
	}
	finish(true)
	if len(pages) > 1 {
		for i := range pages {
			pages[i] += fmt.Sprintf(`<text x="%d" y="%d" text-anchor="end" font-size="%d" fill="#555555">page %d of %d</text>`+"\n",
				svgWidth-svgMargin, svgPageHeight-svgMargin, svgSmallFont, i+1, len(pages))
		}
	}
	return pages, lastHeight
}

// clip shortens s to n characters with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if n < 2 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
