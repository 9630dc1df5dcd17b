package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Checks of what crosses the network, read by the grader rather than
// through the student's own client: the peer list as JSON on a raw TCP
// connection, and chat text in captured datagrams.

// peerList waits until the raw client's output holds a JSON array of
// [name, ip] pairs that lists every wanted user at the address of its
// host. The array may be glued to other messages on the wire.
func (r *run) peerList(ctx context.Context, st Step) *stepError {
	pr := r.proc(st.Procs[0])
	want := map[string]string{}
	var desc []string
	for _, u := range st.Users {
		name, host, _ := strings.Cut(u, "@")
		want[name] = r.v().IPv4[host]
		desc = append(desc, fmt.Sprintf("[%q, %q]", name, want[name]))
	}
	what := fmt.Sprintf("%s on %s receives the peer list as JSON [[name, ip], ...] holding %s within %s",
		pr.name, pr.host, strings.Join(desc, ", "), st.Within)
	start := r.e.clock.Now()
	deadline := r.deadline(st.Within)
	last := ""
	for {
		state, ch := pr.tr.state()
		lists, text := jsonLists(pr.tr.outputFrom(0))
		for _, l := range lists {
			if hasPeers(l, want) {
				return nil
			}
		}
		if len(lists) > 0 {
			b, _ := json.Marshal(lists[len(lists)-1])
			last = string(b)
		}
		if state.eof {
			return failf(what, "it ended first (%s); %s", r.endedText(ctx, pr, state), listGot(last, text))
		}
		select {
		case <-ch:
		case <-deadline.C():
			return timeoutf(what, "%s (after %s)", listGot(last, text), r.e.clock.Now().Sub(start))
		case <-ctx.Done():
			return failf(what, "it did not before the scenario stopped")
		}
	}
}

func listGot(last, text string) string {
	if last != "" {
		return "the last list received was " + last
	}
	return fmt.Sprintf("no JSON list arrived; it received %q", clip(text, 200))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// jsonLists decodes every JSON array that starts at a '[' in b and returns
// those of [name, ip] pairs, with b as text for messages.
func jsonLists(b []byte) ([][][2]string, string) {
	var out [][][2]string
	for i := 0; i < len(b); i++ {
		if b[i] != '[' {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b[i:]))
		var v [][]any
		if err := dec.Decode(&v); err != nil {
			continue
		}
		var pairs [][2]string
		ok := true
		for _, p := range v {
			if len(p) != 2 {
				ok = false
				break
			}
			name, ok1 := p[0].(string)
			ip, ok2 := p[1].(string)
			if !ok1 || !ok2 {
				ok = false
				break
			}
			pairs = append(pairs, [2]string{name, ip})
		}
		if ok {
			out = append(out, pairs)
			i += int(dec.InputOffset()) - 1
		}
	}
	return out, string(b)
}

func hasPeers(list [][2]string, want map[string]string) bool {
	got := map[string]string{}
	for _, p := range list {
		got[p[0]] = p[1]
	}
	for name, ip := range want {
		if got[name] != ip {
			return false
		}
	}
	return true
}

// sniffReady bounds how long tcpdump may take to start listening.
const sniffReady = 10 * time.Second

// sniff starts tcpdump on a host as a process of the scenario, printing
// each matching packet's payload (-A), and returns once it listens, so
// that expect and absent can look for text on the wire.
func (r *run) sniff(ctx context.Context, st Step) *stepError {
	filter, err := r.v().expand(st.Filter, false)
	if err != nil {
		return infraf("sniff", "%v", err)
	}
	name := st.Procs[0]
	cmd := []string{"tcpdump", "-l", "-n", "-A", "-s", "0", "-i", "any", filter}
	if serr := r.spawnWith(ctx, name, st.Host, cmd, "tcpdump "+filter, true); serr != nil {
		return serr
	}
	return r.expectRaw(ctx, name, `listening on`, sniffReady)
}
