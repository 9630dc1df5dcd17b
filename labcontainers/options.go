package labcontainers

import (
	"log/slog"
	"net/netip"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/ntnu-ttm4200/lab3/images"
	"github.com/ntnu-ttm4200/lab3/internal/progress"
	"github.com/ntnu-ttm4200/lab3/runtime"
	"github.com/ntnu-ttm4200/lab3/runtime/docker"
	"github.com/ntnu-ttm4200/lab3/topology"
)

// Option configures Run. It is a testcontainers.ContainerCustomizer, so it
// can be passed to Run beside testcontainers' own customizers (which apply
// to every host of the lab); as a customizer it does nothing.
type Option func(*settings)

// Compiler check: an Option can be passed where customizers are expected.
var _ testcontainers.ContainerCustomizer = Option(nil)

// Customize does nothing: Run reads Options itself. It is there so that
// Options and testcontainers' customizers share Run's variadic argument.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// settings are Run's options after defaults.
type settings struct {
	name      string
	team      int
	subnet    netip.Prefix
	dnsImage  string
	hostImage string
	imageOpts []images.Option
	docker    *docker.Docker
	zoneDir   string
	sandbox   *runtime.Sandbox
	logger    *slog.Logger
	wait      wait.Strategy
}

func newSettings(opts []testcontainers.ContainerCustomizer) (settings, []testcontainers.ContainerCustomizer) {
	s := settings{team: topology.DefaultTeam, logger: progress.Discard()}
	var rest []testcontainers.ContainerCustomizer
	for _, o := range opts {
		if opt, ok := o.(Option); ok {
			if opt != nil {
				opt(&s)
			}
			continue
		}
		rest = append(rest, o)
	}
	return s, rest
}

// WithName names the lab: containers are <name>-<host>, the network
// <name>_net, and everything carries the label lab3.lab=<name>. The default
// is "tc-" and 8 random hex digits. Run refuses a name a lab already has.
func WithName(name string) Option {
	return func(s *settings) { s.name = name }
}

// WithTeam sets the team number, and so the domain (team<N>.com). The
// default is the course's, 30.
func WithTeam(team int) Option {
	return func(s *settings) { s.team = team }
}

// WithSubnet puts the lab on an IPv4 /24 of your choice (the IPv6 /64 is
// derived from it, as topology.New does). The default is a free 10.90-95.x.0/24,
// chosen at random among the subnets no Docker network uses.
func WithSubnet(p netip.Prefix) Option {
	return func(s *settings) { s.subnet = p }
}

// WithImages runs the DNS server from dns and the other hosts from host,
// normally the references images.Ensure returned. Without it Run calls
// images.Ensure itself (a few milliseconds when the images are built).
func WithImages(dns, host string) Option {
	return func(s *settings) { s.dnsImage, s.hostImage = dns, host }
}

// WithImageOptions passes options to the images.Ensure call Run makes when
// WithImages is not given, e.g. images.WithLogger(logger).
func WithImageOptions(opts ...images.Option) Option {
	return func(s *settings) { s.imageOpts = append(s.imageOpts, opts...) }
}

// WithDocker makes Run use an engine connection the caller already has;
// Terminate then leaves it open. By default Run connects with
// docker.Connect (DOCKER_HOST or the local socket), as testcontainers-go
// does.
func WithDocker(d *docker.Docker) Option {
	return func(s *settings) { s.docker = d }
}

// WithZoneDir makes the DNS server serve a student's zone files from dir
// instead of the generated ones (see lab.WithZoneDir). The clients' wait
// then accepts any reply from the DNS server, as the student's zones may
// not hold the team's domain.
func WithZoneDir(dir string) Option {
	return func(s *settings) { s.zoneDir = dir }
}

// WithSandbox confines the chat hosts as a grading lab does (see
// runtime.Sandbox and lab.DefaultSandbox); the network is made internal.
func WithSandbox(sb runtime.Sandbox) Option {
	return func(s *settings) { s.sandbox = &sb }
}

// WithLogger logs the images' and lab.Up's progress, one record a step,
// on l (see provision.WithLogger); by default it is discarded.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) {
		if l != nil {
			s.logger = l
		}
	}
}

// WithWaitStrategy replaces what Run waits for on each client once the
// lab is up. The default is ForDNS(<team domain>): a dig from the client,
// through its resolv.conf, answers the domain's SOA.
func WithWaitStrategy(w wait.Strategy) Option {
	return func(s *settings) { s.wait = w }
}
