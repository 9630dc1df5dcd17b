package main

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/chat"
	"github.com/ntnu-ttm4200/lab3/chat/chattest"
)

func TestBenchCountsEveryDelivery(t *testing.T) {
	for _, mode := range []chat.Mode{chat.ModeChatroom, chat.ModeP2P} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := chattest.NewServer(t, chat.WithMode(mode))
			cfg := config{server: srv.Addr, clients: 20, mode: mode, duration: 200 * time.Millisecond,
				senders: 3, rate: 50, bind: "127.0.0.1", dialers: 8, timeout: chattest.Wait}
			res, err := bench(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Framed {
				t.Error("bench did not negotiate framing with our server")
			}
			if res.Sent == 0 || res.Delivered != res.Sent*19 || res.Expected != res.Delivered {
				t.Errorf("sent %d, delivered %d, expected %d: want every message at the 19 others", res.Sent, res.Delivered, res.Expected)
			}
			if (mode == chat.ModeP2P) != (res.PeerListBytes > 0) {
				t.Errorf("peer-list bytes = %d in mode %v", res.PeerListBytes, mode)
			}
			if res.LatencyMaxMs < res.LatencyP99Ms || res.LatencyP99Ms < res.LatencyP50Ms {
				t.Errorf("latency percentiles out of order: %+v", res)
			}
		})
	}
}

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--mode", "auth"},
		{"--clients", "1"},
		{"--senders", "0"},
		{"--clients", "5", "--senders", "6"},
	} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func TestScanStampsAcrossReadBoundaries(t *testing.T) {
	const ts = "1764100000123456789"
	whole := "b1 (IP: 127.0.0.1) said: " + marker + ts
	tests := []struct {
		name  string
		reads []string
		want  int
	}{
		{"one per read", []string{whole, whole}, 2},
		{"two in one read", []string{whole + whole}, 2},
		{"cut inside the digits", []string{whole[:len(whole)-5], whole[len(whole)-5:]}, 1},
		{"cut inside the marker", []string{"said: bench", "-t=" + ts}, 1},
		{"cut right after the marker", []string{"said: " + marker, ts + " and more"}, 1},
		{"not ours", []string{"said: " + marker + "12x", "said: hello"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			carry := ""
			for _, r := range tc.reads {
				carry = scanStamps(carry+r, func(v int64) { got = append(got, v) })
			}
			if len(got) != tc.want {
				t.Fatalf("got %d stamps %v, want %d", len(got), got, tc.want)
			}
			for _, v := range got {
				if strconv.FormatInt(v, 10) != ts {
					t.Errorf("stamp %d, want %s", v, ts)
				}
			}
		})
	}
}
