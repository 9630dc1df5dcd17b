// Package dnscheck verifies that the lab's DNS server answers the team's
// domain correctly from inside every client.
//
// Expectations come from the topology (Expectations) or from a YAML file
// (LoadExpectations). Check asks one server for all of them at once and
// classifies every answer: pass, timeout, connection refused, REFUSED,
// SERVFAIL, NXDOMAIN, NODATA or a wrong answer. CheckHost does that twice,
// through the server named in the host's resolv.conf and directly at the lab's
// DNS server, and reports a resolv.conf that points elsewhere and any
// disagreement between the two paths. RunLab copies the static cmd/dnscheck
// binary into each client, runs CheckHost there and gathers a Report, which
// WriteText and WriteJSON print.
package dnscheck
