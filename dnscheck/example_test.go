package dnscheck_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ntnu-ttm4200/lab3/dnscheck"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/topology"
)

func ExampleExpectations() {
	for _, e := range dnscheck.Expectations(topology.Default())[:6] {
		fmt.Println(e)
	}
	// Output:
	// team30.com. SOA → ns.team30.com. admin.team30.com.
	// team30.com. NS → ns.team30.com.
	// team30.com. A → 10.20.30.3
	// team30.com. AAAA → fd00::3
	// team30.com. MX → 10 mail.team30.com.
	// www.team30.com. CNAME → team30.com.
}

func ExampleParseExpectations() {
	exps, err := dnscheck.ParseExpectations("lab2.yaml", []byte(`
- {name: WWW.team30.com, type: cname, want: [team30.com]}
- {name: nosuch.team30.com, type: A, rcode: NXDOMAIN}
- {name: team30.com, type: A, want: [10.20.30.300]}
`))
	fmt.Println(err)
	exps, _ = dnscheck.ParseExpectations("lab2.yaml", []byte("- {name: WWW.team30.com, type: cname, want: [team30.com]}"))
	fmt.Println(exps[0], "from", exps[0].Source)
	// Output:
	// lab2.yaml:4: invalid expectation: team30.com. A: "10.20.30.300" is not an IP address
	// www.team30.com. CNAME → team30.com. from lab2.yaml:1
}

// RunLab needs a lab that is up; this is how cmd/lab wires it.
func ExampleRunLab() {
	ctx := context.Background()
	eng, err := docker.Connect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer eng.Close()
	bin, err := dnscheck.Binary(ctx, "") // bin/dnscheck, or built on the fly
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	rep, err := dnscheck.RunLab(ctx, eng, topology.Default(), bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	_ = dnscheck.WriteText(os.Stdout, rep)
	if !rep.Pass() {
		os.Exit(1)
	}
}
