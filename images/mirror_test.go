package images

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPickMirrorFromSources(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		want   string
		wantOK bool
	}{
		{
			name: "deb822 with main and security stanzas",
			data: `Types: deb
# a snapshot comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`,
			want: "http://mirror.example/debian", wantOK: true,
		},
		{
			name: "deb822 security first, main second",
			data: "Types: deb\nURIs: https://sec.example/debian-security/\nSuites: trixie-security\n\nTypes: deb deb-src\nURIs: https://mirror.example/debian/\nSuites: trixie trixie-updates\nComponents: main\n",
			want: "https://mirror.example/debian", wantOK: true,
		},
		{
			name:   "deb822 disabled stanza and deb-src only",
			data:   "Types: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\n\nTypes: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n",
			wantOK: false,
		},
		{
			name: "deb822 field continued on the next line",
			data: "Types: deb\nURIs:\n http://mirror.example/debian\nSuites: bookworm\n",
			want: "http://mirror.example/debian", wantOK: true,
		},
		{
			name: "one-line with options",
			data: "# comment\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib\n",
			want: "http://mirror.example/debian", wantOK: true,
		},
		{
			name: "one-line security then main",
			data: "deb http://sec.example/debian-security bookworm-security main\ndeb http://mirror.example/debian/ stable main # trailing comment\n",
			want: "http://mirror.example/debian", wantOK: true,
		},
		{
			name:   "one-line Ubuntu mirror is not Debian",
			data:   "deb http://archive.example/ubuntu jammy main restricted\n",
			wantOK: false,
		},
		{
			name:   "cdrom is no mirror",
			data:   "deb cdrom:[Debian GNU/Linux 12]/ bookworm main\n",
			wantOK: false,
		},
		{name: "empty", data: "", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pickMirror(parseSources([]byte(tt.data)))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("pickMirror = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestHostMirrorReadsTheHostsFiles(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    string
		wantErr string
	}{
		{
			name:  "deb822 in sources.list.d",
			files: map[string]string{"apt/sources.list.d/debian.sources": "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n"},
			want:  "http://mirror.example/debian",
		},
		{
			name: "sources.list wins over sources.list.d",
			files: map[string]string{
				"apt/sources.list":                  "deb http://first.example/debian bookworm main\n",
				"apt/sources.list.d/debian.sources": "Types: deb\nURIs: http://second.example/debian\nSuites: bookworm\n",
			},
			want: "http://first.example/debian",
		},
		{
			name: "empty sources.list, one-line .list file",
			files: map[string]string{
				"apt/sources.list":          "# moved to sources.list.d\n",
				"apt/sources.list.d/x.list": "deb http://mirror.example/debian bookworm main\n",
			},
			want: "http://mirror.example/debian",
		},
		{
			name:    "no sources at all",
			files:   map[string]string{},
			wantErr: "no Debian mirror found: no apt sources under",
		},
		{
			name:    "only a non-Debian mirror",
			files:   map[string]string{"apt/sources.list": "deb http://archive.example/ubuntu noble main\n"},
			wantErr: "set LAB_DEBIAN_MIRROR to a Debian mirror URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			etc := t.TempDir()
			for name, data := range tt.files {
				p := filepath.Join(etc, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := hostMirror(etc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrNoMirror) {
					t.Fatalf("err = %v, want ErrNoMirror containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("hostMirror = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
