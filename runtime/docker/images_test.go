package docker

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/ntnu-ttm4200/lab3/images"
)

func TestReadJSONMessages(t *testing.T) {
	tests := []struct {
		name, stream, wantErr string
	}{
		{"success", `{"stream":"Step 1/2 : FROM x\n"}` + "\n" + `{"stream":"Successfully built 1\n"}`, ""},
		{"import status", `{"status":"sha256:abc"}`, ""},
		{"error detail", `{"stream":"Step 1/2\n"}{"errorDetail":{"message":"COPY failed: no such file\n"},"error":"COPY failed"}`, "COPY failed: no such file"},
		{"bare error", `{"error":"no space left on device"}`, "no space left on device"},
		{"cut short", `{"stream":"Ste`, "read engine output: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readJSONMessages(strings.NewReader(tt.stream))
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestEnsureWithoutAnEngineFailsInOneLine: images.Ensure on an engine
// that is not there says so in one line, with the moby client's hint.
func TestEnsureWithoutAnEngineFailsInOneLine(t *testing.T) {
	c, err := client.New(client.WithHost("unix://"+filepath.Join(t.TempDir(), "docker.sock")), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	d := &Docker{c: c}
	defer d.Close()
	_, err = images.Ensure(t.Context(), d, images.WithCacheDir(t.TempDir()))
	if err == nil || !client.IsErrConnectionFailed(err) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "daemon is running") {
		t.Errorf("err = %q, want one line saying the engine cannot be reached, with a hint", err)
	}
}
