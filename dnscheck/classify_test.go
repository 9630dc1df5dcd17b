package dnscheck

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/dnscheck/dnstest"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// labZone is the zone a healthy team 30 lab serves, written by hand.
func labZone(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("testdata/team30.zone")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// fast keeps checks that are meant to time out quick; the retry still
// happens. Only for a server that never answers: on a loaded machine (CI,
// the race detector) an answer can take longer than 150 ms.
var fast = []Option{WithTimeout(150 * time.Millisecond), WithRetries(1)}

// patient is for checks that expect an answer, error or refusal from the
// in-process server: a retry needs a 5 s stall, so the exact query counts
// below still hold on a loaded machine.
var patient = []Option{WithTimeout(5 * time.Second), WithRetries(1)}

func TestCheckHealthyZonePassesEveryLabExpectation(t *testing.T) {
	srv := dnstest.NewServer(t, labZone(t))
	exps := Expectations(topology.Default())
	for _, r := range Check(context.Background(), srv.Addr, exps, patient...) {
		if !r.Pass {
			t.Errorf("%s: %s: %s", r.Expectation, r.Reason, r.Detail)
		}
		if r.Reason != ReasonOK || r.Rcode != "NOERROR" || r.RTT <= 0 {
			t.Errorf("%s: reason %q rcode %q rtt %v, want ok NOERROR >0", r.Expectation, r.Reason, r.Rcode, r.RTT)
		}
	}
	if got, want := srv.Queries(), len(exps); got != want {
		t.Errorf("server got %d queries, want one per expectation (%d)", got, want)
	}
}

func TestCheckClassifiesEveryFailure(t *testing.T) {
	apexA := Expectation{Name: "team30.com", Type: "A", Want: []string{"10.20.30.3"}}
	tests := []struct {
		name       string
		mode       dnstest.Mode
		exp        Expectation
		wantReason Reason
		wantRcode  string
		detailHas  []string
		queries    int
	}{
		{name: "answer", mode: dnstest.Answer, exp: apexA, wantReason: ReasonOK, wantRcode: "NOERROR", queries: 1},
		{name: "timeout is retried once", mode: dnstest.Timeout, exp: apexA, wantReason: ReasonTimeout,
			detailHas: []string{"no answer", "2 tries"}, queries: 2},
		{name: "refused", mode: dnstest.Refuse, exp: apexA, wantReason: ReasonRefused, wantRcode: "REFUSED",
			detailHas: []string{"REFUSED"}, queries: 1},
		{name: "servfail", mode: dnstest.ServFail, exp: apexA, wantReason: ReasonServFail, wantRcode: "SERVFAIL",
			detailHas: []string{"SERVFAIL", "named-checkzone"}, queries: 1},
		{name: "nxdomain", mode: dnstest.NXDomain, exp: apexA, wantReason: ReasonNXDomain, wantRcode: "NXDOMAIN",
			detailHas: []string{"team30.com. does not exist"}, queries: 1},
		{name: "nodata", mode: dnstest.NoData, exp: apexA, wantReason: ReasonNoData, wantRcode: "NOERROR",
			detailHas: []string{"no A record"}, queries: 1},
		{name: "lie is a wrong answer with want and got", mode: dnstest.Lie, exp: apexA, wantReason: ReasonWrongAnswer,
			wantRcode: "NOERROR", detailHas: []string{"want 10.20.30.3", "got 192.0.2.66", "unexpected 192.0.2.66"}, queries: 1},
		{name: "truncated answer is asked again over TCP", mode: dnstest.Truncate, exp: apexA, wantReason: ReasonOK,
			wantRcode: "NOERROR", queries: 2},
		{name: "name missing from the zone", mode: dnstest.Answer,
			exp:        Expectation{Name: "chat.team30.com", Type: "A", Want: []string{"10.20.30.3"}},
			wantReason: ReasonNXDomain, wantRcode: "NXDOMAIN", queries: 1},
		{name: "type missing from the name", mode: dnstest.Answer,
			exp:        Expectation{Name: "client1.team30.com", Type: "MX", Want: []string{"10 mail.team30.com."}},
			wantReason: ReasonNoData, wantRcode: "NOERROR", queries: 1},
		{name: "CNAME is followed for other types", mode: dnstest.Answer,
			exp:        Expectation{Name: "www.team30.com", Type: "MX", Want: []string{"10 mail.team30.com."}},
			wantReason: ReasonOK, wantRcode: "NOERROR", queries: 1},
		{name: "CNAME to a name without the type is no data", mode: dnstest.Answer,
			exp:        Expectation{Name: "www.team30.com", Type: "TXT", Want: []string{"hello"}},
			wantReason: ReasonNoData, wantRcode: "NOERROR", detailHas: []string{"followed www.team30.com. CNAME team30.com."}, queries: 1},
		{name: "zone it is not authoritative for", mode: dnstest.Answer,
			exp:        Expectation{Name: "team31.com", Type: "A", Want: []string{"10.20.30.3"}},
			wantReason: ReasonRefused, wantRcode: "REFUSED", queries: 1},
		{name: "wanted NXDOMAIN and got it", mode: dnstest.Answer,
			exp:        Expectation{Name: "nosuch.team30.com", Type: "A", Rcode: "NXDOMAIN"},
			wantReason: ReasonOK, wantRcode: "NXDOMAIN", queries: 1},
		{name: "wanted NXDOMAIN but the name exists", mode: dnstest.Answer,
			exp:        Expectation{Name: "www.team30.com", Type: "A", Rcode: "NXDOMAIN"},
			wantReason: ReasonWrongAnswer, wantRcode: "NOERROR", detailHas: []string{"want NXDOMAIN, got NOERROR 10.20.30.3"}, queries: 1},
		{name: "wanted NODATA and got it", mode: dnstest.Answer,
			exp:        Expectation{Name: "client1.team30.com", Type: "TXT", Rcode: "NOERROR"},
			wantReason: ReasonOK, wantRcode: "NOERROR", queries: 1},
		{name: "wanted NODATA but records came", mode: dnstest.Answer,
			exp:        Expectation{Name: "client1.team30.com", Type: "A", Rcode: "NOERROR"},
			wantReason: ReasonWrongAnswer, wantRcode: "NOERROR", detailHas: []string{"want no A record", "10.20.30.11"}, queries: 1},
		{name: "invalid expectation is not sent", mode: dnstest.Answer,
			exp:        Expectation{Name: "team30.com", Type: "A", Want: []string{"fd00::3"}},
			wantReason: ReasonInvalid, detailHas: []string{"not an IPv4 address"}, queries: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.NewServer(t, labZone(t))
			srv.SetMode(tt.mode)
			opts := patient
			if tt.mode == dnstest.Timeout {
				opts = fast
			}
			got := Check(context.Background(), srv.Addr, []Expectation{tt.exp}, opts...)
			if len(got) != 1 {
				t.Fatalf("got %d results, want 1", len(got))
			}
			r := got[0]
			if r.Reason != tt.wantReason || r.Rcode != tt.wantRcode {
				t.Errorf("reason %q rcode %q, want %q %q (detail %q)", r.Reason, r.Rcode, tt.wantReason, tt.wantRcode, r.Detail)
			}
			if r.Pass != (tt.wantReason == ReasonOK) {
				t.Errorf("pass = %v for reason %q", r.Pass, r.Reason)
			}
			for _, s := range tt.detailHas {
				if !strings.Contains(r.Detail, s) {
					t.Errorf("detail %q lacks %q", r.Detail, s)
				}
			}
			q := srv.Queries()
			if tt.mode == dnstest.Timeout {
				q = settledQueries(srv, tt.queries)
			}
			if q != tt.queries {
				t.Errorf("server saw %d queries, want %d", q, tt.queries)
			}
		})
	}
}

func TestCheckConnectionRefusedWhenNothingListens(t *testing.T) {
	r := Check(context.Background(), dnstest.ClosedAddr(t), []Expectation{{Name: "team30.com", Type: "A", Want: []string{"10.20.30.3"}}}, patient...)[0]
	if r.Reason != ReasonConnRefused || !strings.Contains(r.Detail, "is named running?") {
		t.Errorf("reason %q detail %q, want %q with a hint", r.Reason, r.Detail, ReasonConnRefused)
	}
}

func TestCheckTruncatedAnswerUsesTCP(t *testing.T) {
	srv := dnstest.NewServer(t, labZone(t))
	srv.SetMode(dnstest.Truncate)
	r := Check(context.Background(), srv.Addr, []Expectation{{Name: "www.team30.com", Type: "A", Want: []string{"10.20.30.3"}}}, patient...)[0]
	if !r.Pass || !r.TCP || srv.TCPQueries() != 1 {
		t.Errorf("pass %v tcp %v tcp queries %d, want a pass over TCP after one truncated UDP answer (%s)", r.Pass, r.TCP, srv.TCPQueries(), r.Detail)
	}
}

func TestCheckOnlyTheOverriddenNameFails(t *testing.T) {
	srv := dnstest.NewServer(t, labZone(t))
	srv.SetModeFor("mail.team30.com", dnstest.Lie)
	var failed []string
	for _, r := range Check(context.Background(), srv.Addr, Expectations(topology.Default()), patient...) {
		if !r.Pass {
			failed = append(failed, r.Expectation.Name+" "+r.Expectation.Type+" "+string(r.Reason))
		}
	}
	want := "mail.team30.com. A wrong-answer,mail.team30.com. AAAA wrong-answer"
	if got := strings.Join(failed, ","); got != want {
		t.Errorf("failed = %q, want %q", got, want)
	}
}

func TestCheckDeadServerTakesTwoTimeoutsNotOnePerQuery(t *testing.T) {
	srv := dnstest.NewServer(t, labZone(t))
	srv.SetMode(dnstest.Timeout)
	exps := Expectations(topology.Default())
	res := Check(context.Background(), srv.Addr, exps, WithTimeout(100*time.Millisecond), WithRetries(1))
	for _, r := range res {
		if r.Reason != ReasonTimeout {
			t.Errorf("%s: reason %q, want timeout", r.Expectation, r.Reason)
		}
	}
	// Every question is asked at once, and once again after its timeout.
	if got, want := settledQueries(srv, 2*len(exps)), 2*len(exps); got != want {
		t.Errorf("server saw %d queries, want %d", got, want)
	}
}

// settledQueries is the number of queries srv has read once it has read
// want or 5 s have passed, and 200 ms more brought no other. The checker
// gives up on an unanswered query without waiting for the server to read
// it, so on a loaded machine the last ones can still be on their way.
func settledQueries(srv *dnstest.Server, want int) int {
	for deadline := time.Now().Add(5 * time.Second); srv.Queries() < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	return srv.Queries()
}

func TestCheckCancelledContext(t *testing.T) {
	srv := dnstest.NewServer(t, labZone(t))
	srv.SetMode(dnstest.Timeout)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := Check(ctx, srv.Addr, []Expectation{{Name: "team30.com", Type: "A", Want: []string{"10.20.30.3"}}}, fast...)[0]
	if r.Pass || r.Reason != ReasonError && r.Reason != ReasonTimeout {
		t.Errorf("reason %q, want error or timeout for a cancelled check", r.Reason)
	}
}

func TestCheckBadServerAddress(t *testing.T) {
	r := Check(context.Background(), "ns.team30.com", []Expectation{{Name: "team30.com", Type: "A", Want: []string{"10.20.30.3"}}})[0]
	if r.Reason != ReasonError || !strings.Contains(r.Detail, "want an IP address") {
		t.Errorf("reason %q detail %q, want an error with a hint", r.Reason, r.Detail)
	}
}
