package scenarios

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// sampleCaptures reads the traffic package's sample captures of a lab
// session (client1 -> webserver 10.20.30.3:5000, SYN 1000000000).
func sampleCaptures(t *testing.T) map[string]File {
	t.Helper()
	out := map[string]File{}
	for _, n := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "traffic", "testdata", "sample", n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = File{Mode: 0o644, Data: b}
	}
	return out
}

const rightAnswers = `SYN_sequence_number: 1000000000
SYNACK_sequence_number: 2000000000
SYNACK_ACKnowledgement_number: 1000000001
number_of_fields_in_UDP_header: 4
length_of_header_field: 2
maximum_number_of_bytes_in_UDP_payload: 65507
largest_possible_source_port_number: 65535
protocol_number_for_UDP: 17
`

// otherSession rewrites every IPv4 ID of a classic little-endian pcap, as
// if the same exchange had been captured in another student's session.
func otherSession(t *testing.T, f File, linkHeader int) File {
	t.Helper()
	b := append([]byte(nil), f.Data...)
	for pos := 24; pos+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[pos+8:]))
		pos += 16
		if ip := pos + linkHeader; n > linkHeader+20 && b[ip]>>4 == 4 {
			b[ip+4] ^= 0x5a
		}
		pos += n
	}
	return File{Mode: f.Mode, Data: b}
}

func TestGradeFiles(t *testing.T) {
	notebook := `{"cells": [{"cell_type": "markdown", "source": ["SYN_sequence_number = 5"]},
	 {"cell_type": "code", "source": ["SYN_sequence_number = 1000000000 #your answer\n", "SYNACK_sequence_number = 1\n", "SYNACK_ACKnowledgement_number =  #your answer (as an integer)\n"]},
	 {"cell_type": "code", "source": "number_of_fields_in_UDP_header = 4\nlength_of_header_field = 2\nmaximum_number_of_bytes_in_UDP_payload = 65_527\nlargest_possible_source_port_number = 65535\nprotocol_number_for_UDP = 17"}]}`
	pdf := "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n%%EOF\n"
	tests := []struct {
		name  string
		edit  func(data map[string]File)
		want  map[string]Status
		wants []string // in the failures' text
	}{
		{"all right", nil, map[string]Status{"m3-captures": Passed, "m3-task-3.2": Passed, "m3-task-3.3": Passed, "q2-report-pdf": Passed, "q2-report-review": NeedsTA},
			[]string{"maximum UDP payload answered 65507"}},
		{"notebook with wrong and missing answers", func(d map[string]File) {
			delete(d, AnswersFile)
			d["lab3.ipynb"] = File{Data: []byte(notebook)}
		}, map[string]Status{"m3-task-3.2": Failed, "m3-task-3.3": Passed},
			[]string{"SYNACK_sequence_number = 1 (lab3.ipynb cell 2); expected 2000000000 (chatserver.pcap frame", "SYNACK_ACKnowledgement_number: no answer", "maximum UDP payload answered 65527"}},
		{"missing files", func(d map[string]File) {
			delete(d, "chatserver.pcap")
			delete(d, AnswersFile)
			delete(d, "report.pdf")
		}, map[string]Status{"m3-captures": Failed, "m3-task-3.2": Failed, "m3-task-3.3": Failed, "q2-report-pdf": Failed, "q2-report-review": NeedsTA},
			[]string{"chatserver.pcap missing from the submission", "no answers: hand in the notebook", "no PDF in the submission"}},
		{"capture from the wrong host", func(d map[string]File) {
			d["client1.pcap"], d["client2.pcap"] = d["client2.pcap"], d["client1.pcap"]
		}, map[string]Status{"m3-captures": Failed},
			[]string{"client1.pcap: was taken on client2 (10.20.30.12), not on client1 (10.20.30.11)"}},
		{"another session's capture", func(d map[string]File) {
			d["client2.pcap"] = otherSession(t, d["client2.pcap"], 16)
		}, map[string]Status{"m3-captures": Failed},
			[]string{"client2.pcap: shares no packet with chatserver.pcap", "not captured in the same session"}},
		{"report too long", func(d map[string]File) {
			d["report.pdf"] = File{Data: []byte(strings.Replace(pdf, "/Count 1", "/Count 3", 1))}
		}, map[string]Status{"q2-report-pdf": Failed}, []string{"report.pdf has 3 pages"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := sampleCaptures(t)
			data[AnswersFile] = File{Data: []byte(rightAnswers)}
			data["report.pdf"] = File{Data: []byte(pdf)}
			if tc.edit != nil {
				tc.edit(data)
			}
			results := dir(t)
			sub := Submission{Name: "team30", Team: 30, Files: map[string]File{}, Data: data}
			got := GradeFiles(context.Background(), sub, FileGradeConfig{ResultsDir: results})
			var text strings.Builder
			for _, r := range got {
				if f := r.Failure; f != nil {
					text.WriteString(f.Expectation + ": " + f.Got + "\n")
					for _, ev := range f.Evidence {
						text.WriteString(strings.Join(ev.Lines, "\n") + "\n")
					}
				}
				for _, n := range r.Notes {
					text.WriteString(n + "\n")
				}
			}
			for _, r := range got {
				if w, ok := tc.want[r.Scenario]; ok && r.Status != w {
					t.Errorf("%s: %s, want %s\n%s", r.Scenario, r.Status, w, text.String())
				}
			}
			for _, w := range tc.wants {
				if !strings.Contains(text.String(), w) {
					t.Errorf("evidence lacks %q:\n%s", w, text.String())
				}
			}
			if tc.edit == nil {
				sheet, err := os.ReadFile(filepath.Join(results, "team30", ReviewSheet))
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range []string{"q2-report.pdf", "q2-diagram.svg", "How a server socket handles multiple incoming connections."} {
					if !strings.Contains(string(sheet), w) {
						t.Errorf("review sheet lacks %q", w)
					}
				}
			}
		})
	}
}

func dir(t *testing.T) string { return t.TempDir() }

func TestPDFPages(t *testing.T) {
	tests := []struct {
		name string
		pdf  string
		want int
	}{
		{"page tree count", "%PDF-1.7\n<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>\n<< /Type /Page >>\n<< /Type /Page >>", 2},
		{"count before type", "%PDF-1.7\n<</Count 3/Kids[1 0 R]/Type/Pages>>", 3},
		{"page objects only", "%PDF-1.3\n<</Type/Page/Parent 1 0 R>>\n<</Type /Page>>\n<</Type/Pages>>", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PDFPages([]byte(tc.pdf))
			if err != nil || got != tc.want {
				t.Errorf("PDFPages = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	if _, err := PDFPages([]byte("hello")); err == nil {
		t.Error("a text file counted as a PDF")
	}
}

// TestPDFPagesIsBounded: counting a report's pages costs little whatever
// the PDF holds: a file of streams that inflate to hundreds of MiB
// (none of it a page) is read only to the bound, and a document of many
// pages is counted only past two.
func TestPDFPagesIsBounded(t *testing.T) {
	var bomb bytes.Buffer
	bomb.WriteString("%PDF-1.7\n<< /Type /Page >>\n")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(bytes.Repeat([]byte("/Type /Pagex "), (4<<20)/13))
	zw.Close()
	for range 100 {
		fmt.Fprintf(&bomb, "1 0 obj << /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n", z.Bytes())
	}
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	pages, err := PDFPages(bomb.Bytes())
	goruntime.ReadMemStats(&after)
	if err != nil || pages != 1 {
		t.Errorf("PDFPages of a %d KiB bomb = %d, %v; want 1", bomb.Len()>>10, pages, err)
	}
	// TotalAlloc is the whole test binary's, the race detector's and other
	// tests' too: the bound is twice the counter's own (16 MiB inflated, a
	// chunk at a time), and far below the 153 MiB the unbounded counter
	// allocated for this file.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("counting the pages of a %d KiB file allocated %d MiB, want at most 64", bomb.Len()>>10, alloc>>20)
	}

	var many bytes.Buffer
	many.WriteString("%PDF-1.7\n")
	for range 100000 {
		many.WriteString("<< /Type /Page >>\n")
	}
	if pages, err := PDFPages(many.Bytes()); err != nil || pages <= 2 || pages > 10 {
		t.Errorf("PDFPages of 100000 pages = %d, %v; want more than 2, found without counting them all", pages, err)
	}
	// A compressed page tree is read too.
	z.Reset()
	zw = zlib.NewWriter(&z)
	zw.Write([]byte("<< /Type /Pages /Kids [3 0 R] /Count 7 >>"))
	zw.Close()
	if pages, err := PDFPages([]byte("%PDF-1.5\n5 0 obj << /Type /ObjStm >>\nstream\r\n" + z.String() + "\r\nendstream\n")); err != nil || pages != 7 {
		t.Errorf("PDFPages of a compressed page tree = %d, %v; want 7", pages, err)
	}
}

// TestGradeFilesKeepsWhatTheTASees: m3-captures keeps the submission's
// captures and the sequence diagram drawn from them with the results,
// and each question check gives every answer beside the value read from
// the captures, right or wrong, for the student's page.
func TestGradeFilesKeepsWhatTheTASees(t *testing.T) {
	data := sampleCaptures(t)
	data[AnswersFile] = File{Data: []byte(strings.Replace(rightAnswers, "SYNACK_sequence_number: 2000000000", "SYNACK_sequence_number: 7", 1))}
	results := t.TempDir()
	sub := Submission{Name: "team30", Team: 30, Files: map[string]File{}, Data: data}
	got := GradeFiles(context.Background(), sub, FileGradeConfig{ResultsDir: results,
		Checks: SelectFileChecks(FileChecks(), func(n string) bool { return strings.HasPrefix(n, "m3-") })})
	byName := map[string]Result{}
	for _, r := range got {
		byName[r.Scenario] = r
	}
	capt := byName["m3-captures"]
	wantDir := filepath.Join(results, "team30", "m3-captures", CaptureFolder)
	if capt.Captures != wantDir {
		t.Fatalf("m3-captures kept its captures in %q, want %q (notes %q)", capt.Captures, wantDir, capt.Notes)
	}
	for _, n := range []string{"chatserver.pcap", "client1.pcap", "client2.pcap"} {
		b, err := os.ReadFile(filepath.Join(wantDir, n))
		if err != nil || !bytes.Equal(b, data[n].Data) {
			t.Errorf("%s kept: %d bytes, %v; want the submission's %d bytes", n, len(b), err, len(data[n].Data))
		}
	}
	if svg, err := os.ReadFile(filepath.Join(wantDir, SequenceDiagram)); err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("%s: %v, %.60q; want the sequence diagram", SequenceDiagram, err, svg)
	}
	ans := byName["m3-task-3.2"].Answers
	if len(ans) != 3 {
		t.Fatalf("m3-task-3.2 answers %+v, want 3", ans)
	}
	if a := ans[0]; a.Question != "SYN_sequence_number" || a.Given != "1000000000" || !a.Right || a.Expected[0] != 1000000000 || !strings.Contains(a.From, "chatserver.pcap frame") {
		t.Errorf("first answer %+v, want the SYN's 1000000000, right, from a frame of chatserver.pcap", a)
	}
	if a := ans[1]; a.Given != "7" || a.Right || a.Expected[0] != 2000000000 {
		t.Errorf("second answer %+v, want 7 given and 2000000000 expected, wrong", a)
	}
	if n := len(byName["m3-task-3.3"].Answers); n != 5 {
		t.Errorf("m3-task-3.3 has %d answers, want 5", n)
	}
}
