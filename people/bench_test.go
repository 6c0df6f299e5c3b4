package people_test

import (
	"testing"

	"github.com/latchkey/latchkey/people"
)

// BenchmarkArgon2id is the cost of one password check with the default
// (OWASP) parameters: what a sign-in costs by design.
func BenchmarkArgon2id(b *testing.B) {
	h := people.HashPassword(alicePassword, people.DefaultArgon2)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, _ := people.VerifyPassword(h, alicePassword, people.DefaultArgon2); !ok {
			b.Fatal("no match")
		}
	}
}
