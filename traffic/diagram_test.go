package traffic

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./traffic -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, lineDiff(string(want), string(got)))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n-%s\n+%s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// names lists the generator's names of the diagram's messages, "" for
// unnamed ones, so the window can be compared with the scenario.
func messageNames(t *testing.T, d Diagram, g *labTraffic) []string {
	t.Helper()
	var out []string
	for _, m := range d.Messages {
		// A packet is drawn at its earliest capture: the sender's, or the
		// receiver's (at most 100µs later) when the sender was not captured.
		name := "?"
		for _, p := range g.packets {
			if d := m.Time.Sub(genBase.Add(p.at)); !p.arp && d >= 0 && d <= 100*time.Microsecond {
				name = p.name
				if name == "" {
					name = "-"
				}
				break
			}
		}
		out = append(out, name)
	}
	return out
}

func TestSequenceDeliveryQ2Window(t *testing.T) {
	paths, _, g := writeLab(t)
	d, err := Sequence(context.Background(), paths, topology.Default())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"dns-query", "dns-answer",
		"syn", "synack", "ack",
		"welcome", "-", "username", "-", "confirmation", "-",
		"notice", "-", "list-bob", "-", "list-alice", "-",
		"p2p",
		"fin", "-", "-", "last-ack",
	}
	if got := messageNames(t, d, g); !reflect.DeepEqual(got, want) {
		t.Errorf("messages:\n got %q\nwant %q", got, want)
	}
	w := d.Window
	if !w.Auto || w.Client != "client1" || !w.From.Equal(genBase.Add(ms(1000))) || !w.To.Equal(genBase.Add(ms(4003))) {
		t.Errorf("window = %+v", w)
	}
	var parts []string
	for _, p := range d.Participants {
		parts = append(parts, p.Label())
	}
	wantParts := []string{"client1 (10.20.30.11)", "dnsserver (10.20.30.2)", "webserver (10.20.30.3)", "client2 (10.20.30.12)"}
	if !reflect.DeepEqual(parts, wantParts) {
		t.Errorf("participants = %q, want %q", parts, wantParts)
	}
	// Messages are in time order and each packet is drawn once.
	for i := 1; i < len(d.Messages); i++ {
		if d.Messages[i].Time.Before(d.Messages[i-1].Time) {
			t.Errorf("message %d is earlier than message %d", i+1, i)
		}
	}
	golden(t, "delivery_q2.mmd", []byte(d.Mermaid()))
}

func TestSequenceWindows(t *testing.T) {
	paths, frames, g := writeLab(t)
	at := func(n int) time.Time { return genBase.Add(ms(n)) }
	tests := []struct {
		name      string
		opts      []Option
		wantNames []string
		wantErr   error
	}{
		{
			name:      "frames of two files",
			opts:      []Option{WithFrom(Bound{Kind: BoundFrame, File: "chatserver.pcap", Frame: frames["chatserver.pcap"]["syn"]}), WithTo(Bound{Kind: BoundFrame, File: "client1.pcap", Frame: frames["client1.pcap"]["ack"]})},
			wantNames: []string{"syn", "synack", "ack"},
		},
		{
			// The first IP packet is client2's SYN, 10ms into the scenario.
			name:      "offsets from the first packet",
			opts:      []Option{WithFrom(mustBound(t, "1.994s")), WithTo(mustBound(t, "+1.9970"))},
			wantNames: []string{"list-bob", "-", "list-alice", "-"},
		},
		{
			name:      "RFC 3339 times",
			opts:      []Option{WithFrom(Bound{Kind: BoundTime, Time: at(3500)}), WithTo(Bound{Kind: BoundTime, Time: at(3500)})},
			wantNames: []string{"later"},
		},
		{
			name:      "only --from runs to the end",
			opts:      []Option{WithFrom(Bound{Kind: BoundTime, Time: at(4003)})},
			wantNames: []string{"last-ack", "offline"},
		},
		{
			name:    "client that sent no direct message",
			opts:    []Option{WithClient("client2")},
			wantErr: ErrNoExchange,
		},
		{
			name:    "unknown client",
			opts:    []Option{WithClient("client7")},
			wantErr: ErrUnknownHost,
		},
		{
			name:    "--to before --from",
			opts:    []Option{WithFrom(Bound{Kind: BoundTime, Time: at(2000)}), WithTo(Bound{Kind: BoundTime, Time: at(1000)})},
			wantErr: ErrBadBound,
		},
		{
			name:    "frame past the end",
			opts:    []Option{WithFrom(Bound{Kind: BoundFrame, File: "client1.pcap", Frame: 999})},
			wantErr: ErrBadBound,
		},
		{
			name:    "frame of a file not given",
			opts:    []Option{WithFrom(Bound{Kind: BoundFrame, File: "client3.pcap", Frame: 1})},
			wantErr: ErrBadBound,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Sequence(context.Background(), paths, topology.Default(), tc.opts...)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got error %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := messageNames(t, d, g); !reflect.DeepEqual(got, tc.wantNames) {
				t.Errorf("messages: got %q, want %q", got, tc.wantNames)
			}
		})
	}
}

func mustBound(t *testing.T, s string) Bound {
	t.Helper()
	b, err := ParseBound(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseBound(t *testing.T) {
	ts := time.Date(2026, 11, 25, 19, 0, 0, 250000000, time.UTC)
	tests := []struct {
		in   string
		want Bound
		bad  bool
	}{
		{in: "2026-11-25T19:00:00.25Z", want: Bound{Kind: BoundTime, Time: ts}},
		{in: "12.5s", want: Bound{Kind: BoundOffset, Offset: 12500 * time.Millisecond}},
		{in: "+3", want: Bound{Kind: BoundOffset, Offset: 3 * time.Second}},
		{in: "0.25", want: Bound{Kind: BoundOffset, Offset: 250 * time.Millisecond}},
		{in: "client1.pcap:17", want: Bound{Kind: BoundFrame, File: "client1.pcap", Frame: 17}},
		{in: "17", want: Bound{Kind: BoundFrame, Frame: 17}},
		{in: "", bad: true},
		{in: "0", bad: true},
		{in: "-1s", bad: true},
		{in: "client1.pcap:0", bad: true},
		{in: "client1.pcap:x", bad: true},
		{in: "yesterday", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseBound(tc.in)
			if tc.bad {
				if !errors.Is(err, ErrBadBound) {
					t.Fatalf("ParseBound(%q) = %+v, %v; want ErrBadBound", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tc.want.Time) || got.Kind != tc.want.Kind || got.Offset != tc.want.Offset || got.File != tc.want.File || got.Frame != tc.want.Frame {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if again, err := ParseBound(got.String()); err != nil || again.Kind != got.Kind {
				t.Errorf("String %q does not parse back: %v", got.String(), err)
			}
		})
	}
}

func TestMessageLimit(t *testing.T) {
	paths, _, _ := writeLab(t)
	d, err := Sequence(context.Background(), paths, topology.Default(), WithMaxMessages(5))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Messages) != 5 || d.Omitted != 17 {
		t.Fatalf("got %d messages and %d omitted, want 5 and 17", len(d.Messages), d.Omitted)
	}
	if !strings.Contains(d.Mermaid(), "Note over P0,P") || !strings.Contains(d.Mermaid(), "17 more packets") {
		t.Errorf("Mermaid lacks the note on omitted packets:\n%s", d.Mermaid())
	}
	if !strings.Contains(string(d.SVG()), "17 more packets") {
		t.Error("SVG lacks the note on omitted packets")
	}
}

func TestMermaidEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain text`, `plain text`},
		{`a;b`, `a#59;b`},
		{`#1: "hi"`, `#35;1#58; #34;hi#34;`},
		{"two\nlines", "two lines"},
		{`<br>`, `#60;br#62;`},
		{`100%`, `100#37;`},
		{`fd00::11`, `fd00#58;#58;11`},
	}
	for _, tc := range tests {
		if got := mermaidText(tc.in); got != tc.want {
			t.Errorf("mermaidText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// svgDoc decodes an SVG fully, failing the test if it is not well-formed,
// and collects what the checks need.
type svgDoc struct {
	width, height int
	fontSizes     []float64
	arrows        int
	texts         []string
}

func decodeSVG(t *testing.T, data []byte) svgDoc {
	t.Helper()
	var doc svgDoc
	dec := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	var inText bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			if e.Name.Local == "svg" && depth == 1 {
				doc.width, _ = strconv.Atoi(attr["width"])
				doc.height, _ = strconv.Atoi(attr["height"])
			}
			if fs, ok := attr["font-size"]; ok {
				v, err := strconv.ParseFloat(fs, 64)
				if err != nil {
					t.Fatalf("font-size %q", fs)
				}
				doc.fontSizes = append(doc.fontSizes, v)
			}
			if attr["marker-end"] != "" {
				doc.arrows++
			}
			inText = e.Name.Local == "text"
		case xml.EndElement:
			depth--
			inText = false
		case xml.CharData:
			if inText {
				doc.texts = append(doc.texts, string(e))
			}
		}
	}
	return doc
}

func TestSVG(t *testing.T) {
	paths, _, _ := writeLab(t)
	d, err := Sequence(context.Background(), paths, topology.Default())
	if err != nil {
		t.Fatal(err)
	}
	doc := decodeSVG(t, d.SVG())
	// One page, cropped to its content: 22 messages need about half of it.
	if doc.width != svgWidth || doc.height < svgPageHeight/3 || doc.height > svgPageHeight {
		t.Errorf("size %dx%d, want %d wide and at most one A4 page (%d) high", doc.width, doc.height, svgWidth, svgPageHeight)
	}
	if doc.arrows != len(d.Messages) {
		t.Errorf("%d arrows for %d messages", doc.arrows, len(d.Messages))
	}
	for _, fs := range doc.fontSizes {
		if fs < 11 {
			t.Errorf("font-size %v is below 11px: unreadable in print", fs)
		}
	}
	all := strings.Join(doc.texts, "\n")
	// The direct message's payload holds ; # : and quotes; XML escaping
	// must give them back exactly.
	if !strings.Contains(all, `"hello bob; #1: "hi""`) {
		t.Errorf("the UDP payload excerpt did not survive escaping:\n%s", all)
	}
	for _, want := range []string{"client1", "10.20.30.11", "TCP [SYN] seq=1000000000 len=0"} {
		if !strings.Contains(all, want) {
			t.Errorf("SVG text lacks %q", want)
		}
	}
}

func TestSVGPaginates(t *testing.T) {
	d := Diagram{Title: "long", Participants: []Participant{
		{Host: "client1", Addrs: []netip.Addr{netip.MustParseAddr("10.20.30.11")}},
		{Host: "webserver", Addrs: []netip.Addr{netip.MustParseAddr("10.20.30.3")}},
	}}
	long := strings.Repeat("a-very-long-payload-excerpt-without-spaces ", 3) + "<&>"
	for i := 0; i < 90; i++ {
		d.Messages = append(d.Messages, Message{From: i % 2, To: (i + 1) % 2, Proto: "TCP", Label: fmt.Sprintf("TCP [PSH, ACK] seq=%d %s", i, long)})
	}
	doc := decodeSVG(t, d.SVG())
	pages := d.SVGPages()
	if len(pages) < 2 {
		t.Fatalf("90 messages on %d page(s); want pagination", len(pages))
	}
	if doc.height != len(pages)*svgPageHeight {
		t.Errorf("height %d, want %d pages of %d", doc.height, len(pages), svgPageHeight)
	}
	if doc.arrows != len(d.Messages) {
		t.Errorf("%d arrows for %d messages", doc.arrows, len(d.Messages))
	}
	avail := float64(svgWidth - 2*svgMargin)
	maxChars := int(avail / svgCharW)
	for _, s := range doc.texts {
		if n := len([]rune(s)); n > maxChars {
			t.Errorf("text line of %d characters overflows the %dpx page: %q", n, svgWidth, s)
		}
	}
	for i, p := range pages {
		pd := decodeSVG(t, p)
		if pd.height != svgPageHeight || !strings.Contains(strings.Join(pd.texts, " "), fmt.Sprintf("page %d of %d", i+1, len(pages))) {
			t.Errorf("page %d: height %d, texts lack its page number", i+1, pd.height)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"TCP [SYN] seq=1 len=0", 40, []string{"TCP [SYN] seq=1 len=0"}},
		{"TCP [SYN, ACK] seq=2000000000 ack=1000000001 len=0", 30, []string{"TCP [SYN, ACK] seq=2000000000", "ack=1000000001 len=0"}},
		{"a-very-long-word-without-spaces", 12, []string{"a-very-long-", "word-", "without-", "spaces"}},
		{"abcdefghijklmnop", 8, []string{"abcdefgh", "ijklmnop"}},
		{"", 10, []string{""}},
	}
	for _, tc := range tests {
		if got := wrap(tc.in, tc.width); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// TestAutoWindowChoosesTheNewClient covers how the Delivery Q2 exchange is
// found when several clients connect.
func TestAutoWindowChoosesTheNewClient(t *testing.T) {
	type step func(g *labTraffic)
	connect := func(at int, client string, port uint16, seq uint32) step {
		return func(g *labTraffic) {
			g.tcp(client+"-syn-"+strconv.Itoa(at), ms(at), client, "webserver", port, 5000, seq, 0, "S", "")
			g.tcp("", ms(at+1), "webserver", client, 5000, port, seq+7, seq+1, "SA", "")
			g.tcp("", ms(at+2), client, "webserver", port, 5000, seq+1, seq+8, "A", "")
		}
	}
	lookup := func(at int, client string) step {
		return func(g *labTraffic) {
			g.dns(client+"-dns-"+strconv.Itoa(at), ms(at), client, 53000, uint16(at), "team30.com", netip.Addr{})
		}
	}
	direct := func(at int, from, to string) step {
		return func(g *labTraffic) {
			g.udp(from+"-udp-"+strconv.Itoa(at), ms(at), from, to, 6000, 6000, []byte("hi "+to))
		}
	}
	tests := []struct {
		name      string
		steps     []step
		client    string
		wantFirst string // name of the window's first packet
		wantLast  string
		wantErr   error
	}{
		{
			name:      "alone in the chat",
			steps:     []step{lookup(100, "client1"), connect(110, "client1", 40001, 100), direct(500, "client1", "client2")},
			wantFirst: "client1-dns-100", wantLast: "client1-udp-500",
		},
		{
			name: "the client that joins others is new",
			steps: []step{connect(100, "client1", 40001, 100), direct(200, "client1", "client2"),
				lookup(300, "client3"), connect(310, "client3", 40003, 300), direct(600, "client3", "client1")},
			wantFirst: "client3-dns-300", wantLast: "client3-udp-600",
		},
		{
			name: "--client picks another",
			steps: []step{connect(100, "client1", 40001, 100), direct(200, "client1", "client2"),
				connect(310, "client3", 40003, 300), direct(600, "client3", "client1")},
			client:    "client1",
			wantFirst: "client1-syn-100", wantLast: "client1-udp-200",
		},
		{
			name: "a reconnect starts a new exchange",
			steps: []step{lookup(50, "client1"), connect(100, "client1", 40001, 100), lookup(4000, "client1"),
				connect(4010, "client1", 40002, 900), direct(4500, "client1", "client2")},
			wantFirst: "client1-dns-4000", wantLast: "client1-udp-4500",
		},
		{
			name:    "direct message before connecting",
			steps:   []step{direct(50, "client1", "client2"), connect(100, "client1", 40001, 100)},
			wantErr: ErrNoExchange,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newLabTraffic(t)
			for _, s := range tc.steps {
				s(g)
			}
			paths, _ := g.write(t.TempDir(), g.labFiles())
			var opts []Option
			if tc.client != "" {
				opts = append(opts, WithClient(tc.client))
			}
			d, err := Sequence(context.Background(), paths, topology.Default(), opts...)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names := messageNames(t, d, g)
			if names[0] != tc.wantFirst || names[len(names)-1] != tc.wantLast {
				t.Errorf("window %q, want it from %s to %s", names, tc.wantFirst, tc.wantLast)
			}
		})
	}
}
