package server_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/server"
)

func TestScratch(t *testing.T) {
	s := startServer(t, server.Config{})
	k, _ := s.client(t, s.Root).CreateKey(context.Background(), api.CreateKeyRequest{})
	real := k.Secret
	for _, c := range [][3]string{
		{"GET", "/v1/keys/" + real, ""},
		{"GET", "/v1/" + real, ""},
		{"POST", "/v1/keys", `{"expires_in":"` + real + `"}`},
		{"POST", "/v1/keys", `{"` + real + `":1}`},
		{"POST", "/v1/keys", `{"scopes":["` + real + ` x"]}`},
		{"POST", "/v1/keys/verify", `{"key":"x","scope_query":"a AND ` + real + ` ("}`},
		{"POST", "/v1/keys", `{"owner":{"type":"user","id":"` + real + `"}}`},
		{"POST", "/v1/keys", `{"keyspace":"` + real + `"}`},
		{"POST", "/v1/keys/` + real + `/revoke", `{}`},
	} {
		r := s.doJSON(t, c[0], c[1], s.Root, c[2])
		t.Logf("%d %s", r.Status, r.Body)
	}
}
