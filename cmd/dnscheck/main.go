// Command dnscheck checks, from the host it runs on, that the lab's DNS
// server answers the team's domain: every expectation through the server in
// resolv.conf and directly at the lab's DNS server. `lab dnscheck` copies it
// (or lab itself, which runs it under that name) into each client and runs
// it there. See internal/multicall/dnscheckcmd and README.md.
package main

import (
	"os"

	"github.com/ntnu-ttm4200/lab3/internal/multicall/dnscheckcmd"
)

func main() { os.Exit(dnscheckcmd.Main()) }
