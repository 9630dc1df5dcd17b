package classreport_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ntnu-ttm4200/lab3/classreport"
	"github.com/ntnu-ttm4200/lab3/grading"
	"github.com/ntnu-ttm4200/lab3/scenarios"
)

// Rebuild the class report of a results folder from its report.json
// files, as lab report does, with the students of a gradebook roster.
func ExampleWrite() {
	dir, _ := os.MkdirTemp("", "results")
	defer os.RemoveAll(dir)
	// What lab grade leaves in the folder.
	for name, st := range map[string]scenarios.Status{"anna": scenarios.Passed, "bob": scenarios.Failed} {
		res := scenarios.Result{Scenario: "m1-broadcast", Milestone: scenarios.M1, Required: true, MaxPoints: 2, Status: st,
			Requirement: "broadcast those messages to the other connected clients"}
		if st == scenarios.Passed {
			res.Points = 2
		} else {
			res.Failure = &scenarios.Failure{Expectation: "bob prints /hello/", Got: "it printed nothing"}
		}
		_ = grading.WriteTranscripts(dir, grading.NewReport(name, []scenarios.Result{res}, nil, time.Second))
	}

	reports, err := grading.LoadReports(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	roster, err := classreport.ReadRoster(strings.NewReader("SIS User ID,submission\ns101,anna\ns102,bob\ns103,bob\n"), "roster.csv")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := classreport.Write(dir, reports, classreport.WithRoster(roster), classreport.WithScoreColumn("Lab 3 (123456)")); err != nil {
		fmt.Println(err)
		return
	}
	grades, _ := os.ReadFile(filepath.Join(dir, classreport.GradesFile))
	fmt.Print(string(grades))
	_, err = os.Stat(filepath.Join(dir, "bob", classreport.PageFile))
	fmt.Println("bob's page:", err == nil)
	// Output:
	// SIS User ID,submission,Lab 3 (123456),max,M1,result,complete,needs_ta,ta_points
	// s101,anna,2,2,2,passed,complete,no,0
	// s102,bob,0,2,0,failed,complete,no,0
	// s103,bob,0,2,0,failed,complete,no,0
	// bob's page: true
}
