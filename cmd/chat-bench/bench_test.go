package main

import (
	"context"
	"io"
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
