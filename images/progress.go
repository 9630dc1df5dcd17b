package images

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// progressEvery is how often a long stage of debootstrap reports its
// count, so that a cold build is never silent for long.
const progressEvery = 5 * time.Second

// debootstrapProgress summarises debootstrap's output ("I: Retrieving
// bash 5.2.15-2", "I: Unpacking bash...", one line per package and step)
// as a few progress lines: one per stage, and the stage's package count
// every progressEvery while it lasts.
type debootstrapProgress struct {
	cfg *config
	// part is an unfinished line.
	part []byte

	stage      string
	stageBegan time.Time
	lastReport time.Time
	// Packages seen at each stage; a package is retrieved (downloaded,
	// or found in the cache and validated) once.
	retrieved            map[string]bool
	extracted            int
	unpacked, configured int
	lastPackage          string
	resolvingAnnounced   bool
}

// The stages of a debootstrap run, in order.
const (
	stageIndex      = "index"
	stageRetrieving = "retrieving"
	stageExtracting = "extracting"
	stageInstalling = "installing"
	stageDone       = "done"
)

func newDebootstrapProgress(cfg *config) *debootstrapProgress {
	now := cfg.now()
	return &debootstrapProgress{cfg: cfg, stage: stageIndex, stageBegan: now, lastReport: now, retrieved: map[string]bool{}}
}

// Write takes debootstrap's output as it comes.
func (p *debootstrapProgress) Write(b []byte) (int, error) {
	p.part = append(p.part, b...)
	for {
		i := bytes.IndexByte(p.part, '\n')
		if i < 0 {
			break
		}
		p.line(strings.TrimSpace(string(p.part[:i])))
		p.part = p.part[i+1:]
	}
	return len(b), nil
}

// line takes one line of debootstrap's output.
func (p *debootstrapProgress) line(l string) {
	f := strings.Fields(strings.TrimPrefix(l, "I: "))
	if len(f) < 2 || !strings.HasPrefix(l, "I: ") {
		return
	}
	word, pkg := f[0], strings.TrimSuffix(f[1], "...")
	pkg, _, _ = strings.Cut(pkg, ":") // libc6:amd64
	switch {
	case word == "Resolving" && !p.resolvingAnnounced:
		p.resolvingAnnounced = true
		p.info("base: debootstrap: resolving the packages' dependencies", "step", stageIndex)
	case (word == "Retrieving" || word == "Validating") && len(f) == 3:
		// "Retrieving bash 5.2.15-2": a package (the indices have no
		// version).
		p.enter(stageRetrieving)
		p.retrieved[pkg] = true
		p.lastPackage = pkg
		p.every(func() {
			p.info(fmt.Sprintf("base: debootstrap: retrieving packages: %d so far (%s)", len(p.retrieved), pkg), "step", stageRetrieving, "packages", len(p.retrieved))
		})
	case word == "Extracting":
		p.enter(stageExtracting)
		p.extracted++
	case word == "Installing" && pkg == "core":
		p.enter(stageInstalling)
	case word == "Unpacking" || word == "Configuring":
		p.enter(stageInstalling)
		if strings.HasSuffix(f[len(f)-1], "...") && len(f) == 2 {
			if word == "Unpacking" {
				p.unpacked++
			} else {
				p.configured++
			}
			p.lastPackage = pkg
		}
		p.every(func() {
			p.info(fmt.Sprintf("base: debootstrap: installing: %d of %d packages unpacked, %d configured (%s)",
				p.unpacked, len(p.retrieved), p.configured, p.lastPackage), "step", stageInstalling, "packages", len(p.retrieved), "unpacked", p.unpacked, "configured", p.configured)
		})
	case word == "Base" && strings.Contains(l, "installed successfully"):
		p.enter(stageDone)
	}
}

// enter moves to a later stage, saying what the last one did.
func (p *debootstrapProgress) enter(stage string) {
	if stage == p.stage || stageOrder(stage) < stageOrder(p.stage) {
		return
	}
	now := p.cfg.now()
	took := now.Sub(p.stageBegan).Round(100 * time.Millisecond)
	switch p.stage {
	case stageRetrieving:
		p.info(fmt.Sprintf("base: debootstrap: retrieved %d packages in %s", len(p.retrieved), took), "step", p.stage, "packages", len(p.retrieved), "elapsed", took)
	case stageExtracting:
		p.info(fmt.Sprintf("base: debootstrap: extracted %d required packages in %s", p.extracted, took), "step", p.stage, "packages", p.extracted, "elapsed", took)
	case stageInstalling:
		p.info(fmt.Sprintf("base: debootstrap: installed %d packages in %s", len(p.retrieved), took), "step", p.stage, "packages", len(p.retrieved), "elapsed", took)
	}
	switch stage {
	case stageRetrieving:
		p.info("base: debootstrap: retrieving packages…", "step", stage)
	case stageExtracting:
		p.info("base: debootstrap: extracting the required packages…", "step", stage)
	case stageInstalling:
		p.info(fmt.Sprintf("base: debootstrap: installing %d packages…", len(p.retrieved)), "step", stage, "packages", len(p.retrieved))
	}
	p.stage, p.stageBegan, p.lastReport = stage, now, now
}

// info logs one of debootstrap's progress lines for the base image.
func (p *debootstrapProgress) info(msg string, attrs ...any) {
	p.cfg.logger.Info(msg, append([]any{"image", "base", "stage", "debootstrap"}, attrs...)...)
}

// every runs report when progressEvery has passed since the last report.
func (p *debootstrapProgress) every(report func()) {
	if now := p.cfg.now(); now.Sub(p.lastReport) >= progressEvery {
		p.lastReport = now
		report()
	}
}

func stageOrder(s string) int {
	for i, st := range []string{stageIndex, stageRetrieving, stageExtracting, stageInstalling, stageDone} {
		if st == s {
			return i
		}
	}
	return -1
}
