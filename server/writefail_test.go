package server_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/server"
)

// mountTmpfs mounts a small tmpfs of its own on a new directory under
// t.TempDir() and unmounts it at cleanup (registered before anything that
// uses it, so it runs last). It skips the test where mounting is not
// allowed (not root, no mount(8)).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the filesystem is full and returns its
// path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for range 1 << 14 { // bounded: 1 GiB
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return path
			}
			t.Fatal(err)
		}
	}
	t.Fatal("the filesystem did not fill up")
	return ""
}

func storeMetric(t *testing.T, s *testServer, series string) string {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestReadyzReflectsFullDisk runs the server on a real filesystem that
// fills up (a 16 MiB tmpfs mounted for the test): once writes fail,
// /readyz answers 503 and latchkey_store_write_failures_total{cause=
// "disk_full"} counts them; when space is back, the probe write makes the
// node ready again.
func TestReadyzReflectsFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "16m")
	s := startServer(t, server.Config{DataDir: filepath.Join(mnt, "data")})
	series := `latchkey_store_write_failures_total{cause="disk_full"}`
	if r := s.do(t, "GET", "/readyz?write=1", "", "", nil); r.Status != 200 {
		t.Fatalf("/readyz?write=1 before the disk filled: %d %s", r.Status, r.Body)
	}
	if v := storeMetric(t, s, series); v != "0" {
		t.Fatalf("%s = %q before the disk filled, want 0", series, v)
	}

	filler := fill(t, mnt)
	meta := `{"pad":"` + strings.Repeat("x", 15<<10) + `"}`
	failed := false
	for i := range 200 { // each create needs new pages; the WAL soon cannot grow
		r := s.doJSON(t, "POST", "/v1/keys", s.Root, fmt.Sprintf(`{"name":"k%d","metadata":%s}`, i, meta))
		if r.Status == 503 {
			failed = true
			break
		}
		if r.Status != 201 {
			t.Fatalf("create %d on a full disk: %d %.300s", i, r.Status, r.Body)
		}
	}
	if !failed {
		t.Fatal("no write failed on a full disk")
	}
	if v := storeMetric(t, s, series); v == "" || v == "0" {
		t.Errorf("%s = %q after a failed write, want ≥ 1", series, v)
	}
	if r := s.do(t, "GET", "/readyz", "", "", nil); r.Status != 503 {
		t.Errorf("/readyz while the disk is full and a write failed: %d %s, want 503", r.Status, r.Body)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := s.do(t, "GET", "/readyz", "", "", nil); r.Status != 200 {
		t.Errorf("/readyz after space was freed: %d %s, want 200", r.Status, r.Body)
	}
	if r := s.doJSON(t, "POST", "/v1/keys", s.Root, `{"name":"after"}`); r.Status != 201 {
		t.Errorf("create after space was freed: %d %.300s", r.Status, r.Body)
	}
}
