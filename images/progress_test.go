package images

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ntnu-ttm4200/lab3/internal/progress"
)

// TestDebootstrapProgressSummarisesTheLog replays a real debootstrap run's
// output (bookworm minbase with the lab's packages, 148 packages), one
// line every 100 ms, and checks that it becomes a few lines: each stage,
// and the count of a long stage every 5 s.
func TestDebootstrapProgressSummarisesTheLog(t *testing.T) {
	log, err := os.ReadFile("testdata/debootstrap.log")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	now := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	cfg := &config{logger: progress.New(&out, false), now: func() time.Time { return now }}
	p := newDebootstrapProgress(cfg)
	// Written in odd-sized pieces, as a pipe delivers it.
	for len(log) > 0 {
		n := min(len(log), 37)
		if i := bytes.IndexByte(log[:n], '\n'); i >= 0 {
			now = now.Add(100 * time.Millisecond)
		}
		if _, err := p.Write(log[:n]); err != nil {
			t.Fatal(err)
		}
		log = log[n:]
	}
	want := `base: debootstrap: resolving the packages' dependencies
base: debootstrap: retrieving packages…
base: debootstrap: retrieving packages: 28 so far (init-system-helpers)
base: debootstrap: retrieving packages: 54 so far (libext2fs2)
base: debootstrap: retrieving packages: 81 so far (libnghttp2-14)
base: debootstrap: retrieving packages: 106 so far (libsystemd0)
base: debootstrap: retrieving packages: 132 so far (perl-base)
base: debootstrap: retrieved 148 packages in 28.3s
base: debootstrap: extracting the required packages…
base: debootstrap: extracted 88 required packages in 6.4s
base: debootstrap: installing 148 packages…
base: debootstrap: installing: 60 of 148 packages unpacked, 0 configured (libsemanage2)
base: debootstrap: installing: 88 of 148 packages unpacked, 32 configured (liblz4-1)
base: debootstrap: installing: 90 of 148 packages unpacked, 89 configured (bind9-dnsutils)
base: debootstrap: installing: 143 of 148 packages unpacked, 96 configured (libmaxminddb0)
base: debootstrap: installed 148 packages in 24.5s
`
	if got := out.String(); got != want {
		t.Errorf("progress (-want +got):\n-%s\n+%s", strings.ReplaceAll(want, "\n", "\n-"), strings.ReplaceAll(got, "\n", "\n+"))
	}
}
