package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// sampleDir holds captures of a Delivery Q2 exchange in the course's lab,
// written by the traffic package's test generator.
var sampleDir = filepath.Join("..", "..", "traffic", "testdata", "sample")

// samples are the sample captures, chatserver.pcap first.
func samples(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, n := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap", "dnsserver.pcap"} {
		p := filepath.Join(sampleDir, n)
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// offline points the CLI at an engine that is not there, which proves a
// command works (or fails) without Docker.
func offline(t *testing.T) {
	t.Helper()
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
}

func TestAnalyzeSampleCapturesOffline(t *testing.T) {
	offline(t)
	code, out, errOut := runLab(t, append([]string{"analyze"}, samples(t)...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"SYN sequence number:            1000000000  (chatserver.pcap frame 5; also client1.pcap frame 3)",
		"SYNACK sequence number:         2000000000  (chatserver.pcap frame 6)",
		"SYNACK acknowledgement number:  1000000001",
		"Header as captured: source port 6000, destination port 6000, length 27 (8 + 19 payload), checksum 0x7c13",
		"Maximum UDP payload over IPv4:  65507",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if want := "note: no Docker engine answers, so hosts are named as in the course's lab (team30.com, 10.20.30.0/24); use --team and --subnet for another\n"; errOut != want {
		t.Errorf("stderr = %q, want %q", errOut, want)
	}
}

func TestAnalyzeJSONFromTheCaptureFolder(t *testing.T) {
	offline(t)
	dir := t.TempDir()
	// Named as capture stop names them, plus a foreign file that is skipped.
	for _, p := range samples(t) {
		copyFile(t, p, filepath.Join(dir, filepath.Base(p)))
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runLab(t, "analyze", "--json", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep traffic.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not a JSON report: %v\n%s", err, out)
	}
	var order []string
	for _, f := range rep.Files {
		order = append(order, f.File)
	}
	if got, want := strings.Join(order, " "), "chatserver.pcap client1.pcap client2.pcap dnsserver.pcap"; got != want {
		t.Errorf("files read in order %q, want %q", got, want)
	}
	hs, u := rep.Task32, rep.Task33
	if hs == nil || hs.SYNSeq != 1000000000 || hs.SYNACKSeq != 2000000000 || hs.SYNACKAck != 1000000001 ||
		hs.SYN.File != "chatserver.pcap" || hs.SYN.Frame != 5 {
		t.Errorf("task 3.2 = %+v", hs)
	}
	if u == nil || u.Fields != 4 || u.FieldBytes != 2 || u.LargestPort != 65535 || u.Protocol != 17 ||
		u.MaxPayloadRFC768 != 65527 || u.MaxPayloadOverIP != 65507 || u.Datagram.Frame != 14 {
		t.Errorf("task 3.3 = %+v", u)
	}
}

func TestAnalyzeNamesHostsByTeamAndSubnet(t *testing.T) {
	offline(t)
	// In another lab's topology the sample's addresses belong to nobody,
	// so neither answer is found: the report says why and the exit is 1.
	code, out, errOut := runLab(t, append([]string{"analyze", "--team", "7", "--subnet", "10.99.7.0/24"}, samples(t)...)...)
	if code != 1 || errOut != "" {
		t.Errorf("exit %d, stderr %q; want 1 and no note (the flags name the lab)", code, errOut)
	}
	if !strings.Contains(out, "note: ") || strings.Contains(out, "Task 3.2:") {
		t.Errorf("report for the wrong lab:\n%s", out)
	}
}

func TestDiagramMermaidMatchesTheGolden(t *testing.T) {
	offline(t)
	code, out, errOut := runLab(t, append([]string{"diagram"}, samples(t)...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "traffic", "testdata", "delivery_q2.mmd"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("lab diagram differs from traffic/testdata/delivery_q2.mmd:\n%s", out)
	}
	if !strings.Contains(errOut, "diagram: 22 messages from 2026-11-25T18:00:01Z") {
		t.Errorf("stderr does not describe the window: %q", errOut)
	}
}

func TestDiagramWritesFiles(t *testing.T) {
	offline(t)
	dir := t.TempDir()
	svg, mmd := filepath.Join(dir, "q2.svg"), filepath.Join(dir, "q2.mmd")
	code, out, errOut := runLab(t, append([]string{"diagram", "--svg", svg, "--mermaid", mmd, "--client", "client1", "--max-messages", "5"}, samples(t)...)...)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q (want nothing): %s", code, out, errOut)
	}
	for _, want := range []string{"(and 17 more not drawn)", "wrote " + svg + " (SVG)", "wrote " + mmd + " (Mermaid)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q: %q", want, errOut)
		}
	}
	b, err := os.ReadFile(mmd)
	if err != nil || !strings.HasPrefix(string(b), "sequenceDiagram\n") || strings.Count(string(b), "->>") != 5 {
		t.Errorf("Mermaid file (%v):\n%s", err, b)
	}
	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
}

func TestDiagramWindowFlags(t *testing.T) {
	offline(t)
	// Frames 5 to 7 of chatserver.pcap are client1's handshake.
	code, out, errOut := runLab(t, append([]string{"diagram", "--from", "chatserver.pcap:5", "--to", "chatserver.pcap:7"}, samples(t)...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "->>"); n != 3 || !strings.Contains(out, "TCP [SYN] seq=1000000000") || !strings.Contains(out, "TCP [SYN, ACK] seq=2000000000 ack=1000000001") {
		t.Errorf("window of the handshake has %d messages:\n%s", n, out)
	}
}

func TestAnalyzeAndDiagramBadInput(t *testing.T) {
	offline(t)
	files := samples(t)
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "notes.pcap")
	if err := os.WriteFile(notPcap, []byte("hello, not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "gone.pcap")
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"analyze", missing}, "lab: capture " + missing + ": no such file or directory"},
		{"folder as file", []string{"analyze", dir}, "lab: capture " + dir + " is a folder: give the files in it, or --dir " + dir},
		{"not a capture", []string{"analyze", notPcap}, "lab: analyze: read notes.pcap: not a pcap or pcapng file"},
		{"same file twice", []string{"analyze", files[0], files[0]}, "lab: analyze: capture given twice: chatserver.pcap: pass each file once"},
		{"no captures yet", []string{"--name", "nothing-here", "analyze"}, "lab: no captures in " + filepath.Join("results", "nothing-here", "captures") + ": capture with lab --name nothing-here capture start and stop, or give the files"},
		{"empty folder", []string{"diagram", "--dir", empty}, "lab: no captures in " + empty + ": capture with lab --name lab3 capture start and stop, or give the files"},
		{"files and dir", []string{"analyze", "--dir", dir, files[0]}, "lab: give either capture files or --dir, not both"},
		{"unknown client", []string{"analyze", "--client", "client9", files[0]}, "lab: analyze: unknown host \"client9\": want one of client1, client2, client3"},
		{"bad subnet", []string{"analyze", "--subnet", "10.1.0.0/16", files[0]}, "lab: invalid topology: subnet 10.1.0.0/16: must be an IPv4 /24 such as 10.20.30.0/24"},
		{"bad team", []string{"diagram", "--team", "0", files[0]}, "lab: invalid topology: team 0: must be between 1 and 9999"},
		{"bad from", []string{"diagram", "--from", "yesterday", files[0]}, `lab: --from: bad window bound "yesterday": want an RFC 3339 time (2026-11-25T19:00:00Z), seconds after the first packet (12.5s) or a frame (client1.pcap:17)`},
		{"to before from", []string{"diagram", "--from", "5s", "--to", "1s", files[0]}, "lab: diagram: bad window bound: --to (2026-11-25T18:00:01.01004Z) is before --from (2026-11-25T18:00:05.01004Z)"},
		{"frame of another file", []string{"diagram", "--from", "client3.pcap:1", files[0]}, "lab: diagram: bad window bound client3.pcap:1: no capture named client3.pcap among chatserver.pcap"},
		{"no exchange", []string{"diagram", files[3]}, "lab: diagram: no new-client exchange found: no client connected to webserver and then sent a UDP datagram to a peer in these captures: choose the window with --from/--to"},
		{"max messages", []string{"diagram", "--max-messages", "0", files[0]}, "lab: --max-messages 0: want at least 1"},
		{"same output twice", []string{"diagram", "--svg", "x", "--mermaid", "x", files[0]}, "lab: --svg and --mermaid name the same file: give each its own"},
		{"unwritable svg", []string{"diagram", "--svg", filepath.Join(missing, "q2.svg"), files[0], files[1]}, "lab: write " + filepath.Join(missing, "q2.svg") + ": no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runLab(t, tc.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			last := stderr[strings.LastIndexByte(strings.TrimSuffix(stderr, "\n"), '\n')+1:]
			if !strings.HasPrefix(last, "lab: ") || !strings.HasSuffix(last, "\n") || strings.Count(last, "\n") != 1 {
				t.Errorf("error is not one line starting with lab: %q", stderr)
			}
			if got := strings.TrimSuffix(last, "\n"); got != tc.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAnalyzeNamesHostsFromTheSavedTopology(t *testing.T) {
	// No engine: the saved file, not a running lab, must name the hosts.
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	copyTo := func(t *testing.T) string {
		dir := t.TempDir()
		for _, f := range samples(t) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	t.Run("the capture's own lab", func(t *testing.T) {
		dir := copyTo(t)
		if err := topology.Save(dir, topology.Default()); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runLab(t, "analyze", "--dir", dir)
		if code != 0 || !strings.Contains(stdout, "Task 3.2") {
			t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
		}
		if strings.Contains(stderr, "course's lab") {
			t.Errorf("fell back to the course's lab: %q", stderr)
		}
	})
	t.Run("another lab's addresses", func(t *testing.T) {
		dir := copyTo(t)
		other, err := topology.New("grade-9", 30, netip.MustParsePrefix("10.99.9.0/24"), netip.Prefix{})
		if err != nil {
			t.Fatal(err)
		}
		if err := topology.Save(dir, other); err != nil {
			t.Fatal(err)
		}
		// client1 of that lab never appears in these captures.
		if code, stdout, _ := runLab(t, "analyze", "--dir", dir); code != 1 {
			t.Errorf("exit %d, want 1: the saved topology was ignored; stdout %q", code, stdout)
		}
	})
	t.Run("a broken file", func(t *testing.T) {
		dir := copyTo(t)
		if err := os.WriteFile(filepath.Join(dir, topology.TopologyFile), []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runLab(t, "analyze", "--dir", dir)
		if code != 1 || !strings.HasPrefix(stderr, "lab: invalid topology: ") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}
