package gradingtest_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/grading/gradingtest"
	"github.com/ntnu-ttm4200/lab3/scenarios"
	"github.com/ntnu-ttm4200/lab3/topology"
	"github.com/ntnu-ttm4200/lab3/traffic"
)

// TestGradeOnTheFake is how a test grades on the fake engine: a relay
// server passes the relay scenario, a crashed one fails it, and every lab
// is gone afterwards.
func TestGradeOnTheFake(t *testing.T) {
	eng := gradingtest.NewEngine(t, "fake")
	subs := []scenarios.Submission{gradingtest.Submission("good", "chat-server"), gradingtest.Submission("crashed", "crash-server")}
	reports, err := grading.Grade(context.Background(), eng, subs,
		grading.WithScenarios([]scenarios.Scenario{gradingtest.Relay(t)}),
		grading.WithLabImages(gradingtest.DNSImage, gradingtest.HostImage),
		grading.WithDNSCheck(gradingtest.DNSCheckBinary),
		grading.WithLabsPerSubmission(1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range reports {
		got = append(got, r.Submission+" "+map[bool]string{true: "passed", false: "failed"}[r.Passed])
	}
	if want := []string{"good passed", "crashed failed"}; !slices.Equal(got, want) {
		t.Errorf("reports %q, want %q", got, want)
	}
	if left := eng.Left(); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestCaptureOnTheFake: the fake's tcpdump starts once a host, and
// stopping it saves an empty pcap file per host.
func TestCaptureOnTheFake(t *testing.T) {
	ctx := context.Background()
	eng := gradingtest.NewEngine(t, "fake")
	topo := topology.Default()
	if err := eng.AddLab(ctx, topo); err != nil {
		t.Fatal(err)
	}
	c, err := traffic.StartCapture(ctx, eng, topo, []string{"client1", "webserver"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := traffic.StartCapture(ctx, eng, topo, []string{"client1"}); !errors.Is(err, traffic.ErrCapture) {
		t.Errorf("a second capture on client1: %v, want ErrCapture: one already runs", err)
	}
	files, err := c.Stop(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f.Path))
		if f.Bytes != 24 {
			t.Errorf("%s: %d bytes, want a pcap header's 24", f.Path, f.Bytes)
		}
	}
	if want := []string{"client1.pcap", "chatserver.pcap"}; !slices.Equal(got, want) {
		t.Errorf("saved %q, want %q", got, want)
	}
	if _, err := c.Stop(ctx, t.TempDir()); !errors.Is(err, traffic.ErrCapture) {
		t.Errorf("a second stop: %v, want ErrCapture: no capture runs", err)
	}
}
