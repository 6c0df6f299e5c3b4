package token

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"sync"
	"time"
)

// idEncoding is Crockford's base32 alphabet in ascending ASCII order, so the
// lexical order of IDs is their numeric order.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

var idState struct {
	sync.Mutex
	last [16]byte
}

// NewID returns a new identifier such as "key_06h0…": prefix, underscore and
// 26 characters encoding 48 bits of Unix milliseconds followed by 80 random
// bits. Within one process IDs strictly increase, even when the clock
// stands still or steps back (the random part of the last ID is incremented
// instead), so they sort by creation and make good pagination cursors.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:]) // never fails (crypto/rand, Go 1.24+)
	idState.Lock()
	if string(b[:6]) <= string(idState.last[:6]) {
		b = idState.last
		for i := 15; i >= 0; i-- { // increment the 128-bit value
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	idState.last = b
	idState.Unlock()
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}
