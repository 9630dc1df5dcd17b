package dnscheck

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// DefaultResolvConf is where a client's stub resolver reads its servers.
const DefaultResolvConf = "/etc/resolv.conf"

// ResolvConf is what a resolv.conf says about name servers.
type ResolvConf struct {
	// Path is the file read.
	Path string `json:"path"`
	// Nameservers are the servers in file order; the stub resolver asks the
	// first one first.
	Nameservers []netip.Addr `json:"nameservers"`
	// Search is the search list, from the last search or domain line.
	Search []string `json:"search,omitempty"`
	// Invalid lists nameserver lines that are not an IP address, as
	// "line N: text".
	Invalid []string `json:"invalid,omitempty"`
}

// Primary is the server the stub resolver asks first. With no nameserver
// line the C library falls back to the local host, so that is returned.
func (rc ResolvConf) Primary() netip.Addr {
	if len(rc.Nameservers) == 0 {
		return netip.MustParseAddr("127.0.0.1")
	}
	return rc.Nameservers[0]
}

// ReadResolvConf reads and parses a resolv.conf file.
func ReadResolvConf(path string) (ResolvConf, error) {
	f, err := os.Open(path)
	if err != nil {
		return ResolvConf{Path: path}, fmt.Errorf("read resolv.conf: %w", err)
	}
	defer f.Close()
	rc, err := ParseResolvConf(f)
	rc.Path = path
	return rc, err
}

// ParseResolvConf parses resolv.conf text: nameserver, search and domain
// lines; comments start with '#' or ';'.
func ParseResolvConf(r io.Reader) (ResolvConf, error) {
	var rc ResolvConf
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				rc.Invalid = append(rc.Invalid, fmt.Sprintf("line %d: %s", n, strings.TrimSpace(line)))
				continue
			}
			a, err := netip.ParseAddr(f[1])
			if err != nil {
				rc.Invalid = append(rc.Invalid, fmt.Sprintf("line %d: %s", n, strings.TrimSpace(line)))
				continue
			}
			rc.Nameservers = append(rc.Nameservers, a.WithZone(""))
		case "search", "domain":
			rc.Search = append([]string(nil), f[1:]...)
		}
	}
	if err := sc.Err(); err != nil {
		return rc, fmt.Errorf("parse resolv.conf: %w", err)
	}
	return rc, nil
}
