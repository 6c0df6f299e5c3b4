package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of the request body guard (see Options).
const (
	// DefaultMaxBody is the largest request body of a route without
	// max_body: 10 MiB.
	DefaultMaxBody = 10 << 20
	// DefaultBodyGrace is how long a request body may take before the
	// minimum rate applies.
	DefaultBodyGrace = 10 * time.Second
	// DefaultBodyMinRate is the slowest a request body may arrive after
	// the grace period, in bytes per second, averaged from the start.
	DefaultBodyMinRate = 16 << 10
)

// errBodySlow and errBodyLarge end a request body the guard cut short.
var (
	errBodySlow  = errors.New("proxy: the request body arrived too slowly")
	errBodyLarge = errors.New("proxy: the request body is larger than the route allows")
)

// bodyGuard is a request body that must arrive within a deadline that
// grows with what has arrived (start + grace + n/minRate) and may not
// exceed max bytes (max < 0: no limit). The deadline is set on the
// client connection, so a client that stops sending is cut off even while
// a read waits; a body that breaks a bound records its refusal in x.
type bodyGuard struct {
	rc      io.ReadCloser
	ctrl    *http.ResponseController
	x       *exchange
	start   time.Time
	grace   time.Duration
	minRate int64
	max     int64
	n       int64
	done    bool
}

func (b *bodyGuard) deadline() time.Time {
	return b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.minRate)*float64(time.Second)))
}

// Read implements io.Reader.
func (b *bodyGuard) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	dl := b.deadline()
	if !time.Now().Before(dl) {
		return 0, b.fail(&errSlowBody, errBodySlow)
	}
	_ = b.ctrl.SetReadDeadline(dl) // not supported: checked between reads only
	if b.max >= 0 && int64(len(p)) > b.max-b.n+1 {
		p = p[:b.max-b.n+1]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.max >= 0 && b.n > b.max {
		return 0, b.fail(&errBodyTooLarge, errBodyLarge)
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, b.fail(&errSlowBody, errBodySlow)
		}
		b.release()
	}
	return n, err
}

// fail records the refusal f and returns err. The connection's read
// deadline is left in the past: the rest of the body is never waited for
// (the server would otherwise read it before answering), and the
// connection closes after the answer.
func (b *bodyGuard) fail(f *refusal, err error) error {
	b.x.bodyRefusal = f
	b.done = true
	_ = b.ctrl.SetReadDeadline(time.Unix(1, 0))
	return err
}

// release lifts the read deadline once the body is over: the server reads
// the connection on after it (to notice a client gone, or the next
// request), and an expired deadline there would cancel the answer.
func (b *bodyGuard) release() {
	if !b.done {
		b.done = true
		_ = b.ctrl.SetReadDeadline(time.Time{})
	}
}

// Close implements io.Closer.
func (b *bodyGuard) Close() error {
	b.release()
	return b.rc.Close()
}

// parseSize reads a route's max_body: a number of bytes with an optional
// unit (B, KB, KiB, MB, MiB, GB, GiB), or "unlimited" (-1).
func parseSize(s string) (int64, error) {
	if s == "unlimited" {
		return -1, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "KiB": 1 << 10, "MB": 1e6, "MiB": 1 << 20, "GB": 1e9, "GiB": 1 << 30}[unit]
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || mult == 0 || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf(`max_body %q is not a size such as "1MiB", "512KiB" or "unlimited"`, s)
	}
	return n * mult, nil
}
