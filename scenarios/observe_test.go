package scenarios

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Lines as the agent prints them, read off Python 3.11 processes on Linux.
const (
	taskSleep   = "100 100 230 0x1 0x1 0x7ffd841338c0 0x0 0x0 0x0 0x7ffd841338a8 0x7f5a6c4ed503|100 (python3) S 1 1 "
	taskSelect  = "101 101 270 0x4 0x7ffcb37175b0 0x0 0x0 0x0 0x0 0x7ffcb37174d0 0x7fb9d1f1c954|101 (python3) S 1 1 "
	taskStdin   = "102 102 0 0x0 0x55f195ed5e70 0x2000 0x7faa5f061a58 0x0 0x0 0x7fffa4461588 0x7faa5f8c52ad|102 (python3) S 1 1 "
	taskRunning = "103 103 running|103 (python3) R 1 1 "
	taskHidden  = "104 104 |104 (py) thon3) S 1 1 "
	taskGoSys   = "105 107 35 0x7f 0x0 0x0 0x0 0x0 0x0 0x7ffd 0x7f|105 (chat-server) S 1 1 "
	taskSelect0 = "106 106 23 0x0 0x0 0x0 0x0 0x7ffd 0x0 0x7ffd 0x7f|106 (python2) S 1 1 "
)

func TestParseTask(t *testing.T) {
	tests := []struct {
		line                     string
		running, sleeping, stdin bool
		readable                 bool
		state                    byte
	}{
		{taskSleep, false, true, false, true, 'S'},
		{taskSelect, false, false, false, true, 'S'},
		{taskStdin, false, false, true, true, 'S'},
		{taskRunning, true, false, false, true, 'R'},
		{taskHidden, false, false, false, false, 'S'},
		{taskGoSys, false, false, false, true, 'S'},  // Go's helper thread naps: not the program sleeping
		{taskSelect0, false, true, false, true, 'S'}, // select() on nothing is a sleep
	}
	for _, tt := range tests {
		task, ok := ParseTask(tt.line)
		if !ok {
			t.Fatalf("ParseTask(%q) failed", tt.line)
		}
		if task.Running != tt.running || task.sleeping() != tt.sleeping || task.readingStdin() != tt.stdin ||
			task.Readable != tt.readable || task.State != tt.state {
			t.Errorf("%q: running %v sleeping %v stdin %v readable %v state %c, want %v %v %v %v %c", tt.line,
				task.Running, task.sleeping(), task.readingStdin(), task.Readable, task.State,
				tt.running, tt.sleeping, tt.stdin, tt.readable, tt.state)
		}
	}
}

func TestParseSocket(t *testing.T) {
	var st HostState
	for _, l := range []string{
		"S tcp 0: 0300140A:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 641 1 000000002012cfa2 100 0 0 10 0",
		"S tcp 1: 0300140A:1388 0B00140A:C350 01 00000000:0000001F 00:00000000 00000000  1000        0 7001 1 000000002012cfa2 20 4 30 10 -1",
		"S tcp 2: 0300140A:1388 0C00140A:C351 06 00000000:00000000 03:00000F9C 00000000     0        0 0 3 000000002012cfa2",
		"S tcp6 0: 0000000000000000FFFF00000300140A:1388 0000000000000000FFFF00000D00140A:9C40 08 00000000:00000000 00:00000000 00000000  1000        0 7002 1 000000002012cfa2 20 4 30 10 -1",
		"S udp 10061: 0B00140A:1770 00000000:0000 07 00000000:00000100 00:00000000 00000000  1000        0 7003 2 000000000e4cbaa9 0",
		"S tcp garbage",
		"S tcp 3: 0300140A:1388",
		"E never reached",
	} {
		if rest, ok := strings.CutPrefix(l, "S "); ok {
			if s, ok := ParseSocket(strings.Fields(rest)); ok {
				st.Sockets = append(st.Sockets, s)
			}
		}
	}
	want := []string{
		"tcp 10.20.0.3:5000 0.0.0.0:0 LISTEN 0/0 641",
		"tcp 10.20.0.3:5000 10.20.0.11:50000 ESTABLISHED 0/31 7001",
		"tcp 10.20.0.3:5000 10.20.0.12:50001 TIME_WAIT 0/0 0",
		"tcp 10.20.0.3:5000 10.20.0.13:40000 CLOSE_WAIT 0/0 7002",
		"udp 10.20.0.11:6000 0.0.0.0:0 CLOSE 0/256 7003",
	}
	var got []string
	for _, s := range st.Sockets {
		got = append(got, strings.Join([]string{s.Proto, s.Local.String(), s.Remote.String(), s.State.String(),
			itoa(s.TxQueue) + "/" + itoa(s.RxQueue), itoa(s.Inode)}, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sockets (-want +got):\n-%s\n+%s", strings.Join(want, "\n-"), strings.Join(got, "\n+"))
	}
	if tw := st.Sockets[2]; tw.Timer != 0xF9C {
		t.Errorf("TIME_WAIT timer %#x, want 0xf9c", tw.Timer)
	}
	if l := listenerOf(st.Sockets); l != 5000 {
		t.Errorf("listener %d, want 5000", l)
	}
	lo := []Socket{{Proto: "tcp", State: TCPListen, Local: netip.MustParseAddrPort("127.0.0.11:33867"), Inode: 1}}
	if l := listenerOf(lo); l != 0 {
		t.Errorf("Docker's resolver on 127.0.0.11 taken for the chat server (%d)", l)
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func TestSocketsBusy(t *testing.T) {
	ap := netip.MustParseAddrPort
	srv := ap("10.20.30.3:5000")
	tests := []struct {
		name   string
		s      Socket
		asking bool   // a program on the host reads its user's input
		want   string // substring; "" = settled
	}{
		{"idle connection", Socket{Proto: "tcp", State: TCPEstablished, Local: srv, Remote: ap("10.20.30.11:40000"), Inode: 9}, false, ""},
		{"bytes unread", Socket{Proto: "tcp", State: TCPEstablished, Local: srv, Remote: ap("10.20.30.11:40000"), RxQueue: 12, Inode: 9}, false, "12 bytes wait"},
		{"peer left, not yet closed", Socket{Proto: "tcp", State: TCPCloseWait, Local: srv, Remote: ap("10.20.30.11:40000"), Inode: 9}, false, "has not yet closed"},
		{"peer left while the program waits for its user", Socket{Proto: "tcp", State: TCPCloseWait, Local: ap("10.20.30.12:40000"), Remote: srv, Inode: 9}, true, ""},
		{"not yet accepted", Socket{Proto: "tcp", State: TCPEstablished, Local: srv, Remote: ap("10.20.30.12:40000"), RxQueue: 6}, false, ""},
		{"time wait", Socket{Proto: "tcp", State: TCPTimeWait, Local: srv, Remote: ap("10.20.30.12:40000")}, false, ""},
		{"datagram unread", Socket{Proto: "udp", Local: ap("10.20.30.12:6000"), Remote: ap("0.0.0.0:0"), RxQueue: 768, Inode: 9}, false, "datagram waits"},
	}
	for _, tt := range tests {
		got := socketsBusy("webserver", []Socket{tt.s}, tt.asking)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestJSONLists(t *testing.T) {
	tests := []struct {
		name string
		wire string
		want bool
	}{
		{"alone", `[["alice", "10.20.30.11"], ["bob", "10.20.30.12"]]`, true},
		{"glued to text", `bob (IP: 10.20.30.12) connected[["alice", "10.20.30.11"], ["bob", "10.20.30.12"]]hello`, true},
		{"compact json", `[["alice","10.20.30.11"],["bob","10.20.30.12"]]`, true},
		{"python repr", `[('alice', '10.20.30.11'), ('bob', '10.20.30.12')]`, false},
		{"wrong address", `[["alice", "10.20.30.11"], ["bob", "10.20.30.13"]]`, false},
		{"names only", `["alice", "bob"]`, false},
	}
	want := map[string]string{"alice": "10.20.30.11", "bob": "10.20.30.12"}
	for _, tt := range tests {
		lists, _ := jsonLists([]byte(tt.wire))
		got := false
		for _, l := range lists {
			got = got || hasPeers(l, want)
		}
		if got != tt.want {
			t.Errorf("%s: %v, want %v (lists %v)", tt.name, got, tt.want, lists)
		}
	}
}

func TestEncodedForms(t *testing.T) {
	got := map[string]bool{}
	for _, f := range encodedForms("pw-1") {
		got[string(f)] = true
	}
	for _, w := range []string{"pw-1", "cHctMQ==", "cHctMQ", "70772d31", "70772D31", "1-wp", "cj-1", "p\x00w\x00-\x001\x00", "\x00p\x00w\x00-\x001"} {
		if !got[w] {
			t.Errorf("encodedForms lacks %q: %q", w, encodedForms("pw-1"))
		}
	}
}

func TestGuessTeam(t *testing.T) {
	tests := []struct {
		files map[string]string
		team  int
		ok    bool
	}{
		{map[string]string{"c.py": `ServerIP = socket.gethostbyname("team11.com")`}, 11, true},
		{map[string]string{"c.py": `# e.g., team30.com`, "d.py": `gethostbyname("Team7.com")`, "e.py": `"team7.com"`}, 7, true},
		{map[string]string{"c.py": `gethostbyname(DOMAIN)`, "notes.txt": "team12.com"}, 0, false},
		{map[string]string{"c.py": `"myteam11.com"`}, 0, false},
	}
	for _, tt := range tests {
		files := map[string]File{}
		for n, d := range tt.files {
			files[n] = File{Data: []byte(d)}
		}
		team, ok := guessTeam(files)
		if team != tt.team || ok != tt.ok {
			t.Errorf("%v: team %d %v, want %d %v", tt.files, team, ok, tt.team, tt.ok)
		}
	}
}

func TestApplyRoster(t *testing.T) {
	roster := map[string]int{"alpha": 11, "beta": 12, "gamma": 13}
	tests := []struct {
		sub      Submission
		team     int
		from     string
		warnsFor bool
	}{
		{Submission{Name: "alpha", Team: 30, TeamFrom: "default"}, 11, "roster", false},
		{Submission{Name: "beta", Team: 12, TeamFrom: "programs"}, 12, "programs", false},
		{Submission{Name: "gamma", Team: 14, TeamFrom: "programs"}, 14, "programs", true},
		{Submission{Name: "alpha", Team: 5, TeamFrom: "manifest"}, 5, "manifest", false},
		{Submission{Name: "delta", Team: 30, TeamFrom: "default"}, 30, "default", false},
	}
	for _, tt := range tests {
		s := tt.sub
		w := s.ApplyRoster(roster)
		if s.Team != tt.team || s.TeamFrom != tt.from || (w != "") != tt.warnsFor {
			t.Errorf("%s: team %d from %s warning %q, want %d %s %v", s.Name, s.Team, s.TeamFrom, w, tt.team, tt.from, tt.warnsFor)
		}
	}
}

func TestParseTaskRunDelay(t *testing.T) {
	for _, tt := range []struct {
		line       string
		run, delay time.Duration
		sched      bool
	}{
		{taskStdin + "|41234567 2500000000 57", 41234567, 2500 * time.Millisecond, true},
		{"104 104 |104 (py|thon3) S 1 1 |1 20 3", 1, 20, true},
		{"104 104 |104 (py|thon3) S 1 1 ", 0, 0, false}, // no schedstat: the '|' is the name's
		{taskStdin, 0, 0, false},
		{taskStdin + "|", 0, 0, false},
		{taskStdin + "|garbage", 0, 0, false},
		{taskStdin + "|12 -5 1", 0, 0, false},
	} {
		task, ok := ParseTask(tt.line)
		if !ok {
			t.Fatalf("ParseTask(%q) failed", tt.line)
		}
		if task.RunTime != tt.run || task.RunDelay != tt.delay || task.Sched != tt.sched {
			t.Errorf("%q: ran %v, waited %v (known %v), want %v, %v (%v)", tt.line, task.RunTime, task.RunDelay, task.Sched, tt.run, tt.delay, tt.sched)
		}
	}
}

func TestStarvation(t *testing.T) {
	const ms = time.Millisecond
	// at is a reading of a thread that has used ran of CPU and waited
	// waited for one; running says it is runnable at the reading.
	at := func(ran, waited time.Duration, running bool) TaskState {
		return TaskState{RunTime: ran, RunDelay: waited, Running: running, Sched: true}
	}
	window := 10 * time.Second
	for _, tt := range []struct {
		name string
		seen []TaskState
		want bool
	}{
		{"never observed", nil, false},
		{"observed once", []TaskState{at(0, 6*time.Second, true)}, false},
		{"the kernel keeps no schedstat", []TaskState{{}, {}, {}}, false},
		{"a client blocked in recv: it never waits for a CPU", []TaskState{at(80*ms, 3*ms, false), at(80*ms, 3*ms, false), at(80*ms, 3*ms, false)}, false},
		{"a busy machine, but the client got to run", []TaskState{at(0, 0, true), at(50*ms, 1*time.Second, true), at(90*ms, 2*time.Second, false)}, false},
		{"starved: Python still starting after 10 s", []TaskState{at(10*ms, 40*ms, true), at(90*ms, 5*time.Second, true), at(120*ms, 6*time.Second, true)}, true},
		{"starved, caught between two time slices", []TaskState{at(10*ms, 40*ms, true), at(90*ms, 5*time.Second, true), at(120*ms, 6*time.Second, false)}, true},
		{"a client that spins beside other spinners", []TaskState{at(0, 0, true), at(2*time.Second, 2*time.Second, true), at(4*time.Second, 4*time.Second, true)}, false},
		{"started slowly, then blocked for good", []TaskState{at(10*ms, 40*ms, true), at(150*ms, 4*time.Second, false), at(150*ms, 4*time.Second, false)}, false},
		{"what it waited before the window does not count", []TaskState{at(10*ms, 30*time.Second, true), at(20*ms, 30*time.Second+500*ms, true), at(30*ms, 31*time.Second, true)}, false},
	} {
		var s starvation
		for _, ts := range tt.seen {
			s.see(ts)
		}
		if _, got := s.starved(window); got != tt.want {
			t.Errorf("%s: starved = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A thread on a timer is waited for, as the handout server's 0.5 s sleep
// before a peer list must be, each sleep sleepPatience at most, so that a
// long sleep cannot make every settle run out its deadline. A thread that
// sleeps, works and sleeps again (a login answer held back a second, then
// the peer list's 0.5 s) is waited for through both sleeps. One that keeps
// waking and napping is periodic: not waited for, in later settles too,
// until it waits for input.
func TestBusyWaitsForASleeperOnlySoLong(t *testing.T) {
	sleep, _ := ParseTask(taskSleep)
	sleep.Sched = true
	running, _ := ParseTask(taskRunning)
	stdin, _ := ParseTask(taskStdin)
	running.TID, stdin.TID = sleep.TID, sleep.TID
	// napped is the thread asleep again after n unseen wakes.
	napped := func(n int) TaskState {
		s := sleep
		s.RunTime += time.Duration(n) * time.Millisecond
		return s
	}
	reading := func(ts ...TaskState) map[string]HostState {
		return map[string]HostState{"webserver": {Tasks: ts}}
	}
	t0 := time.Unix(1000, 0)
	type step struct {
		at    time.Duration
		state map[string]HostState
		busy  string // substring; "" = settled
	}
	play := func(r *run, what string, steps []step) {
		t.Helper()
		slept := sleepers{}
		for _, st := range steps {
			why, _ := r.busy(st.state, slept, t0.Add(st.at))
			if (st.busy == "") != (why == "") || !strings.Contains(why, st.busy) {
				t.Errorf("%s, at %s: busy %q, want %q", what, st.at, why, st.busy)
			}
		}
	}
	const asleep = "sleeping on a timer"
	ms := time.Millisecond

	r := &run{}
	play(r, "one long sleep", []step{
		{0, reading(sleep), asleep},
		{sleepPatience - ms, reading(sleep), asleep},
		{sleepPatience, reading(sleep), ""}, // waited for long enough
	})
	play(r, "the same sleep, next settle", []step{
		{0, reading(sleep), asleep}, // one sleep made it no heartbeat
		{sleepPatience, reading(sleep), ""},
	})
	play(r, "sleep 1.9 s, hash, sleep 0.5 s", []step{
		{0, reading(sleep), asleep},
		{1900 * ms, reading(running), "is running"},
		{2000 * ms, reading(napped(1)), asleep}, // a new sleep, its own patience
		{2400 * ms, reading(napped(1)), asleep},
		{2500 * ms, reading(stdin), ""},
	})
	var loop []step
	for i := 0; i < periodicWakes; i++ {
		loop = append(loop, step{time.Duration(i) * 10 * ms, reading(napped(i)), asleep})
	}
	loop = append(loop, step{time.Duration(periodicWakes) * 10 * ms, reading(napped(periodicWakes)), ""})
	play(r, "a loop of naps", loop)
	play(r, "the loop, next settle", []step{
		{0, reading(napped(periodicWakes + 1)), ""}, // periodic: not waited for at all
	})
	play(r, "the loop waits for input, then sleeps", []step{
		{0, reading(stdin), ""},
		{10 * ms, reading(sleep), asleep}, // a new sleep: waited for again
	})
}
