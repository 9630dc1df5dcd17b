package labcontainers_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"path"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/labcontainers"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// ExampleRun brings a lab up, asks client1 for the team's web server, and
// removes the lab. It needs a Docker engine, so it is compiled but not run
// by go test.
func ExampleRun() {
	ctx := context.Background()
	l, err := labcontainers.Run(ctx, labcontainers.WithName("tc-example"), labcontainers.WithTeam(7))
	defer func() {
		if err := l.Terminate(context.Background()); err != nil {
			log.Print(err)
		}
	}()
	if err != nil {
		log.Print(err)
		return
	}
	_, out, err := l.Clients[0].Exec(ctx, []string{"dig", "+short", "www.team7.com", "A"}, tcexec.Multiplexed())
	if err != nil {
		log.Print(err)
		return
	}
	b, _ := io.ReadAll(out)
	fmt.Printf("%s", b)
}

// TestStaffChecksOneRequirement is a member of staff's test: bring the lab
// up, deploy a student's submission on the chat hosts, run one of the
// grader's scenarios against it and assert on the result.
func TestStaffChecksOneRequirement(t *testing.T) {
	labcontainers.Engine(t) // skips without Docker unless CI is set
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// Module options and testcontainers' own customizers mix; the logger
	// puts testcontainers' lines into the test's log.
	l, err := labcontainers.Run(ctx, labcontainers.WithName("tc-staff-example"),
		testcontainers.WithLogger(tclog.TestLogger(t)))
	labcontainers.CleanupLab(t, l)
	if err != nil {
		t.Fatal(err)
	}

	sub, err := scenarios.LoadSubmission("../testdata/students/faithful")
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range append(l.Clients, l.WebServer) {
		for name, f := range sub.Files {
			if err := host.CopyToContainer(ctx, f.Data, path.Join(scenarios.WorkDir, name), int64(f.Mode.Perm())); err != nil {
				t.Fatal(err)
			}
		}
	}

	all, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	broadcast, err := scenarios.Select(all, []string{"m1-broadcast"})
	if err != nil {
		t.Fatal(err)
	}
	rt := grading.NewLabRuntime(l.Docker(), l.Topology, nil)
	eng := scenarios.NewEngine(rt, sub.Programs, scenarios.VarsFor(l.Topology, sub.Port, sub.P2PPort))
	res := eng.Run(ctx, broadcast[0])

	if res.Status != scenarios.Passed || res.Points != res.MaxPoints {
		t.Fatalf("%s: %s, %d of %d points; failure: %+v", res.Scenario, res.Status, res.Points, res.MaxPoints, res.Failure)
	}
}
