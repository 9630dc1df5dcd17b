package lab

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/fake"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// fakeEngine is runtime/fake's engine with the lab's images: its DNS
// server answers dig once started, unless zonesBroken makes it exit with a
// checker's message, as the real entrypoint does, or its zone files were
// never copied in (an up killed half-way).
type fakeEngine struct {
	*fake.Engine
	failCreate  string // container name whose creation fails
	zonesBroken string
}

func newFakeEngine() *fakeEngine {
	f := &fakeEngine{Engine: fake.New("fake")}
	f.Fail = func(op, target string) error {
		if op == "create container" && target == f.failCreate {
			return errors.New("injected failure")
		}
		return nil
	}
	f.Started = func(lab, host string) *fake.Exit {
		if host != "dnsserver" {
			return nil
		}
		if f.zonesBroken != "" {
			return &fake.Exit{Code: 1, Logs: f.zonesBroken}
		}
		if _, ok := f.File(lab, host, topology.ZoneDir+"/"+topology.ZonesConf); !ok {
			return &fake.Exit{Code: 1, Logs: "/etc/bind/named.conf:12: open: /etc/bind/lab/named.conf.zones: file not found\n"}
		}
		return nil
	}
	f.ExecFunc = func(ctx context.Context, lab, host string, cmd []string, stdin io.Reader) (runtime.ExecResult, error) {
		if cmd[0] == "dig" {
			return runtime.ExecResult{Stdout: []byte("ns.team30.com. admin.team30.com. 1 86400 7200 2419200 10800\n")}, nil
		}
		return runtime.ExecResult{ExitCode: 127, Stderr: []byte(strings.Join(cmd, " ") + ": not found")}, nil
	}
	f.ProcessesFunc = func(lab, host string) []string {
		if host == "dnsserver" {
			return []string{"/sbin/docker-init -- /usr/local/sbin/lab-dns-entrypoint", "/usr/sbin/named -g -u bind"}
		}
		return []string{"/sbin/docker-init -- /usr/local/sbin/lab-host-entrypoint", "sleep infinity"}
	}
	return f
}

// spec is the spec the lab's container of host was created with.
func (f *fakeEngine) spec(lab, host string) runtime.ContainerSpec {
	s, _ := f.Spec(lab + "-" + host)
	return s
}

// copied is a file Up copied into a host.
func (f *fakeEngine) copied(lab, host, path string) string {
	file, _ := f.File(lab, host, path)
	return string(file.Data)
}
