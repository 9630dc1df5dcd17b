package scenarios_test

import (
	"fmt"

	"github.com/ntnu-ttm4200/lab3/scenarios"
)

func ExampleParse() {
	src := `
name: m2-unknown-peer
milestone: M2
points: 1
requirement: A direct message to an unknown name is reported as "User (%s) not found".
steps:
  - start: {proc: server, host: webserver, role: server}
  - join: {proc: alice, host: client1, user: alice}
  - type: {proc: alice, line: '@nobody: hi'}
  - expect: {proc: alice, match: 'User \(nobody\) not found'}
`
	sc, err := scenarios.Parse("m2-unknown-peer.yaml", []byte(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range sc.Steps {
		fmt.Println(st.Line, st.Kind, st.Procs)
	}
	_, err = scenarios.Parse("bad.yaml", []byte("name: x\nmilestone: M3\n"))
	fmt.Println(err)
	// Output:
	// 7 start [server]
	// 8 join [alice]
	// 9 type [alice]
	// 10 expect [alice]
	// bad.yaml:2: milestone "M3": want M1, M2, M4 or DNS
}
