package traffic

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMergeFoldsCopiesAndKeepsEarliest(t *testing.T) {
	paths, _, g := writeLab(t)
	m, err := mergeFiles(context.Background(), paths, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var want []genPacket
	for _, p := range g.packets {
		if !p.arp {
			want = append(want, p)
		}
	}
	if len(m.packets) != len(want) {
		t.Fatalf("merged %d packets, want %d (one per packet sent, whatever the number of captures)", len(m.packets), len(want))
	}
	for i, p := range m.packets {
		w := want[i]
		if p.src != w.src || p.dst != w.dst || p.ipID != w.ipID {
			t.Errorf("packet %d: got %s->%s id %d, want %s->%s id %d (%s)", i, p.src, p.dst, p.ipID, w.src, w.dst, w.ipID, w.name)
		}
		// The sender's copy has no receive delay: it is the earliest.
		if !p.ref.Time.Equal(genBase.Add(w.at)) {
			t.Errorf("packet %d (%s): time %s, want the sender's %s", i, w.name, p.ref.Time, genBase.Add(w.at))
		}
	}
	// Every packet between two captured hosts was seen twice.
	syn := find(m, func(p *packet) bool { return p.tcp && p.seq == synSeq && p.flags == flagSYN })
	if syn == nil || len(syn.copies) != 1 || syn.ref.File != "client1.pcap" || syn.copies[0].File != "chatserver.pcap" {
		t.Errorf("client1's SYN: want one packet from client1.pcap with a copy in chatserver.pcap, got %+v", syn)
	}
}

func find(m *merged, ok func(*packet) bool) *packet {
	for _, p := range m.packets {
		if ok(p) {
			return p
		}
	}
	return nil
}

func TestMergeKeepsRetransmissions(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		want   int
	}{
		// The same bytes twice in one capture are a retransmission, not a
		// copy: both stay, and each folds with its own copy in the other file.
		{name: "both captures", window: time.Second, want: 2},
		// Copies further apart than the window are different packets.
		{name: "window too small", window: time.Nanosecond, want: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newLabTraffic(t)
			g.tcp("", ms(1), "client1", "webserver", 45000, 5000, 7, 9, "PA", "again")
			g.packets = append(g.packets, g.packets[0])
			g.packets[1].at = ms(201)
			files := g.labFiles()[:2]
			paths, _ := g.write(t.TempDir(), files)
			m, err := mergeFiles(context.Background(), paths, tc.window)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.packets) != tc.want {
				t.Fatalf("got %d packets, want %d", len(m.packets), tc.want)
			}
		})
	}
}

func TestMergeRejectsSameFileTwice(t *testing.T) {
	paths, _, _ := writeLab(t)
	if _, err := mergeFiles(context.Background(), []string{paths[0], paths[0]}, time.Second); !errors.Is(err, ErrDuplicateFile) {
		t.Fatal("the same capture twice would show every packet as its own copy; want an error")
	}
}
