package apitoken_test

import (
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/apitoken"
)

func ExampleNew() {
	tok, err := apitoken.New("acme_live")
	if err != nil {
		panic(err)
	}
	plaintext := tok.Reveal() // show once, to the user who created it
	fmt.Println(strings.HasPrefix(plaintext, "acme_live_"), len(plaintext))
	fmt.Println(apitoken.Check(plaintext))
	fmt.Println(tok.Prefix(), len(tok.Start()))
	fmt.Println(tok) // never the plaintext
	fmt.Println(len(tok.Digest().String()))

	// A typo is caught without a storage lookup.
	typo := plaintext[:20] + flip(plaintext[20]) + plaintext[21:]
	fmt.Println(apitoken.Check(typo))
	// Output:
	// true 59
	// valid
	// acme_live 14
	// apitoken.Token(REDACTED)
	// 64
	// bad checksum
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func ExampleCheck() {
	for _, s := range []string{"", "sk_live_abc", "acme_" + strings.Repeat("0", 49)} {
		fmt.Printf("%q: %v\n", s, apitoken.Check(s))
	}
	// Output:
	// "": malformed
	// "sk_live_abc": foreign
	// "acme_0000000000000000000000000000000000000000000000000": bad checksum
}
