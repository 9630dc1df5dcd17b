package images

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type tarEntry struct {
	name     string
	typ      byte
	mode     int64
	linkname string
	body     string
}

func listTar(t *testing.T, data []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s has owner names %q/%q; want numeric owners only", h.Name, h.Uname, h.Gname)
		}
		out = append(out, tarEntry{h.Name, h.Typeflag, h.Mode & 0o7777, h.Linkname, string(b)})
	}
}

func TestContextTarIsDeterministic(t *testing.T) {
	files := []contextFile{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte("FROM x\n")},
		{Name: "etc/bind/lab/", Mode: 0o755, Dir: true},
		{Name: "run.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
	}
	a, err := contextTar(files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := contextTar(files)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same files give different archives")
	}
	want := []tarEntry{
		{"Dockerfile", tar.TypeReg, 0o644, "", "FROM x\n"},
		{"etc/bind/lab/", tar.TypeDir, 0o755, "", ""},
		{"run.sh", tar.TypeReg, 0o755, "", "#!/bin/sh\n"},
	}
	if got := listTar(t, a); !slices.Equal(got, want) {
		t.Errorf("entries:\n got %v\nwant %v", got, want)
	}
	for _, bad := range []string{"", "/etc/passwd"} {
		if _, err := contextTar([]contextFile{{Name: bad}}); err == nil {
			t.Errorf("contextTar accepted name %q", bad)
		}
	}
}

func TestRoleLayersAddOnlyTheirOwnEntries(t *testing.T) {
	want := map[string][]tarEntry{
		"dnsserver": {
			{"etc/bind/lab/", tar.TypeDir, 0o755, "", ""},
			{"etc/bind/named.conf", tar.TypeReg, 0o644, "", ""},
			{"usr/local/sbin/lab-dns-entrypoint", tar.TypeReg, 0o755, "", ""},
			{"etc/ssh/sshd_config.d/lab3.conf", tar.TypeReg, 0o644, "", ""},
		},
		"host": {
			{"usr/local/sbin/lab-host-entrypoint", tar.TypeReg, 0o755, "", ""},
			{"etc/ssh/sshd_config.d/lab3.conf", tar.TypeReg, 0o644, "", ""},
		},
	}
	for _, r := range roles() {
		t.Run(r.name, func(t *testing.T) {
			layer, err := r.layer()
			if err != nil {
				t.Fatal(err)
			}
			got := listTar(t, layer)
			// Parent folders such as etc/ or etc/bind/ must not be in the
			// layer: unpacking them would reset the base's owners and modes.
			for i := range got {
				if got[i].typ == tar.TypeReg && got[i].body == "" {
					t.Errorf("%s is empty", got[i].name)
				}
				got[i].body = ""
			}
			if !slices.Equal(got, want[r.name]) {
				t.Errorf("layer:\n got %v\nwant %v", got, want[r.name])
			}
			ctx, err := r.context("lab3/base:0123456789ab")
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, e := range listTar(t, ctx) {
				names = append(names, e.name)
			}
			if !slices.Equal(names, []string{"Dockerfile", r.name + ".tar"}) {
				t.Errorf("context holds %v", names)
			}
		})
	}
}

func TestRoleDockerfile(t *testing.T) {
	got := roles()[0].dockerfile("lab3/base:0123456789ab")
	want := "FROM lab3/base:0123456789ab\nADD dnsserver.tar /\nENTRYPOINT [\"/usr/local/sbin/lab-dns-entrypoint\"]\n"
	if got != want {
		t.Errorf("dockerfile:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteRootfsTar(t *testing.T) {
	root := t.TempDir()
	mk := func(name, data string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	mk("usr/bin/python3.11", "elf", 0o755)
	mk("etc/passwd", "root:x:0:0::/root:/bin/bash\n", 0o644)
	mk("dev/null", "", 0o666) // the engine makes /dev; its content never ships
	mk("proc/self", "", 0o644)
	if err := os.MkdirAll(filepath.Join(root, "sys/kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("python3.11", filepath.Join(root, "usr/bin/python3")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "usr/bin/python3.11"), filepath.Join(root, "usr/bin/python3-hard")); err != nil {
		t.Fatal(err)
	}

	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = os.Chmod(p, 0o755)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeRootfsTar(&buf, root); err != nil {
		t.Fatal(err)
	}
	got := listTar(t, buf.Bytes())
	want := []tarEntry{
		{"bin", tar.TypeSymlink, 0o777, "usr/bin", ""},
		{"dev/", tar.TypeDir, 0o755, "", ""},
		{"etc/", tar.TypeDir, 0o755, "", ""},
		{"etc/passwd", tar.TypeReg, 0o644, "", "root:x:0:0::/root:/bin/bash\n"},
		{"proc/", tar.TypeDir, 0o755, "", ""},
		{"sys/", tar.TypeDir, 0o755, "", ""},
		{"usr/", tar.TypeDir, 0o755, "", ""},
		{"usr/bin/", tar.TypeDir, 0o755, "", ""},
		{"usr/bin/python3", tar.TypeSymlink, 0o777, "python3.11", ""},
		{"usr/bin/python3-hard", tar.TypeReg, 0o755, "", "elf"},
		{"usr/bin/python3.11", tar.TypeLink, 0o755, "usr/bin/python3-hard", ""},
	}
	if !slices.Equal(got, want) {
		var b strings.Builder
		for _, e := range got {
			b.WriteString("\n  ")
			b.WriteString(e.name + " " + string(e.typ) + " " + e.linkname)
		}
		t.Errorf("entries:%s\nwant %v", b.String(), want)
	}
}
