package traffic

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ntnu-ttm4200/lab3/topology"
)

// TestTask32MatchesTshark checks the Task 3.2 answers against Wireshark's
// own dissector on the same file: the students read these numbers there.
func TestTask32MatchesTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("tshark is not installed (apt-get install tshark): cannot compare with Wireshark's reading")
		}
		t.Fatal("tshark is required in CI: apt-get install tshark")
	}
	paths, _, _ := writeLab(t)
	for _, path := range paths[:2] { // chatserver.pcap (Ethernet) and client1.pcap (SLL2)
		t.Run(path[strings.LastIndexByte(path, '/')+1:], func(t *testing.T) {
			rep, err := Analyze(context.Background(), []string{path}, topology.Default())
			if err != nil {
				t.Fatal(err)
			}
			hs := rep.Task32
			if hs == nil || !hs.SYNACKFound {
				t.Fatalf("no handshake found: %+v", rep)
			}
			cmd := exec.Command(tshark, "-r", path, "-T", "fields",
				"-e", "frame.number", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.flags.ack",
				"-e", "ip.src", "-e", "ip.dst", "-Y", "tcp.flags.syn==1")
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			type row struct {
				frame    int
				seq, ack uint32
				isAck    bool
				src, dst string
			}
			var rows []row
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(line, "\t")
				if len(f) < 6 {
					t.Fatalf("tshark line %q", line)
				}
				n, _ := strconv.Atoi(f[0])
				seq, _ := strconv.ParseUint(f[1], 10, 32)
				ack, _ := strconv.ParseUint(f[2], 10, 32)
				rows = append(rows, row{n, uint32(seq), uint32(ack), f[3] == "1" || f[3] == "True", f[4], f[5]})
			}
			var syn, synack *row
			for i := range rows {
				r := &rows[i]
				if syn == nil && !r.isAck && r.src == "10.20.30.11" && r.dst == "10.20.30.3" {
					syn = r
				}
				if syn != nil && synack == nil && r.isAck && r.src == "10.20.30.3" && r.dst == "10.20.30.11" {
					synack = r
				}
			}
			if syn == nil || synack == nil {
				t.Fatalf("tshark found no client1 handshake in %q", out)
			}
			if hs.SYN.Frame != syn.frame || hs.SYNSeq != syn.seq {
				t.Errorf("SYN: we say frame %d seq %d, tshark says frame %d seq %d", hs.SYN.Frame, hs.SYNSeq, syn.frame, syn.seq)
			}
			if hs.SYNACK.Frame != synack.frame || hs.SYNACKSeq != synack.seq || hs.SYNACKAck != synack.ack {
				t.Errorf("SYNACK: we say frame %d seq %d ack %d, tshark says frame %d seq %d ack %d",
					hs.SYNACK.Frame, hs.SYNACKSeq, hs.SYNACKAck, synack.frame, synack.seq, synack.ack)
			}
		})
	}
}
