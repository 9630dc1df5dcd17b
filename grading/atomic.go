package grading

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes the file path atomically: what write writes goes to a
// temporary file in path's folder, which is renamed over path only once it
// is complete. A reader (a TA's browser, the Gradescope harness, a script
// collecting summary.csv while a batch still runs) sees the old file or
// the new one, never a part of either; when write fails the old file stays
// and the temporary one is removed. The file gets mode perm.
func WriteFile(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Base(tmp.Name()), err)
	}
	return nil
}

// writeBytes is WriteFile of data, mode 0644.
func writeBytes(path string, data []byte) error {
	return WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
