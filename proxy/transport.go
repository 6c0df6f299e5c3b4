package proxy

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of the upstream transport.
const (
	DefaultResponseHeaderTimeout = 60 * time.Second
	DefaultMaxIdleConnsPerHost   = 256
	dialTimeout                  = 5 * time.Second
	tlsHandshakeTimeout          = 5 * time.Second
	idleConnTimeout              = 90 * time.Second
)

// NewTransport returns the transport the gateway uses towards the
// upstream unless Options.Transport is set: dial and TLS handshake
// timeouts of 5 s, the given response header timeout (≤ 0 means
// DefaultResponseHeaderTimeout), up to DefaultMaxIdleConnsPerHost pooled
// idle connections, HTTP/2 towards TLS upstreams that offer it, and no
// proxy from the environment.
func NewTransport(responseHeaderTimeout time.Duration) *http.Transport {
	if responseHeaderTimeout <= 0 {
		responseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          4 * DefaultMaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   DefaultMaxIdleConnsPerHost,
		IdleConnTimeout:       idleConnTimeout,
		ForceAttemptHTTP2:     true,
	}
}

// copyBufSize is the size of the buffers that copy bodies.
const copyBufSize = 32 << 10

// bufferPool lends the ReverseProxy its body copy buffers, so that a
// request allocates none.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any {
		b := make([]byte, copyBufSize)
		return &b
	}}}
}

// Get implements httputil.BufferPool.
func (bp *bufferPool) Get() []byte { return *bp.p.Get().(*[]byte) }

// Put implements httputil.BufferPool.
func (bp *bufferPool) Put(b []byte) {
	if cap(b) != copyBufSize {
		return
	}
	b = b[:copyBufSize]
	bp.p.Put(&b)
}
