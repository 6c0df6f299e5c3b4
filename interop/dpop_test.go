package interop_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server"
)

// dpopProof is dpop-proof.mjs's result.
type dpopProof struct {
	Proof string `json:"proof"`
	JKT   string `json:"jkt"`
}

// handProof has dpop-proof.mjs sign a proof for htm and htu.
func handProof(t *testing.T, htm, htu string) dpopProof {
	t.Helper()
	r := runNode(t, "dpop-proof.mjs", map[string]string{"HTM": htm, "HTU": htu})
	if !r.OK {
		t.Fatalf("dpop-proof.mjs: %s; stderr %s", r.Out, r.Stderr)
	}
	return decode[dpopProof](t, r, "dpop-proof.mjs")
}

// cnfJKT returns the cnf.jkt claim (RFC 9449 §6.1) of claims, or "".
func cnfJKT(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// TestInteropOpenIDClientDPoP: openid-client with a DPoP handle
// (getDPoPHandle over randomDPoPKeyPair) through the code flow and a
// refresh: both answers are token_type DPoP, and jose finds the key's
// thumbprint in cnf.jkt of both access tokens. With server nonces
// (Config.DPoPNonce) the library meets use_dpop_nonce and retries with
// the DPoP-Nonce given (RFC 9449 §8) on its own.
func TestInteropOpenIDClientDPoP(t *testing.T) {
	t.Parallel()
	needNode(t)
	for _, nonce := range []bool{false, true} {
		t.Run(map[bool]string{false: "no nonce", true: "server nonce"}[nonce], func(t *testing.T) {
			t.Parallel()
			l := startLatchkeyConfig(t, func(c *server.Config) { c.DPoPNonce = nonce })
			if nonce { // the nonce is really demanded: a proof without one is refused
				app := l.createClient(t, reportsApp)
				p := handProof(t, http.MethodPost, l.metadata(t).TokenEndpoint)
				f := mustFail(t, runNode(t, "cc.mjs", map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID,
					"CLIENT_SECRET": app.ClientSecret, "DPOP_PROOF": p.Proof}), "a proof without the server's nonce")
				if f.Failed.Error != "use_dpop_nonce" {
					t.Fatalf("a proof without the server's nonce: %+v, want use_dpop_nonce", *f.Failed)
				}
			}
			openidDPoP(t, l)
		})
	}
}

func openidDPoP(t *testing.T, l *latchkey) {
	t.Helper()
	c := newCodeSetup(t, l, "shop", "")
	callback, u := openidAuthorize(t, c, newFormBrowser(t, c.l.URL), false)
	r := openidCode(t, c, map[string]string{"STEP": "redeem", "CALLBACK_URL": callback.String(), "VERIFIER": u.Verifier,
		"STATE": u.State, "REFRESH": "1", "DPOP": "1"})
	if !r.OK {
		t.Fatalf("openid-client with DPoP: %s; stderr %s", r.Out, r.Stderr)
	}
	out := decode[struct {
		codeRedeemed
		JKT string `json:"jkt"`
	}](t, r, "openid-code.mjs")
	if out.JKT == "" {
		t.Fatal("the script printed no thumbprint")
	}
	for what, tok := range map[string]tokenOut{"code (DPoP)": out.Token, "refreshed (DPoP)": out.Refreshed} {
		if claims := checkUserTokenOf(t, c.l, what, "DPoP", tok, "shop", "orders:read"); cnfJKT(claims) != out.JKT {
			t.Errorf("%s: cnf %v, want jkt %s", what, claims["cnf"], out.JKT)
		}
	}
	if out.Refreshed.RefreshToken == out.Token.RefreshToken {
		t.Error("the DPoP refresh did not rotate the refresh token")
	}
}

// TestInteropOAuth4WebAPIDPoPProofRefusals: proofs made by hand with
// jose's SignJWT, sent by oauth4webapi's client_credentials request as
// its DPoP header. A correct proof gets token_type DPoP with its key in
// cnf.jkt; the same proof again (the same jti, RFC 9449 §11.1), a proof
// for another URI (htu) and one for another method (htm) are each
// invalid_dpop_proof (400, §5).
func TestInteropOAuth4WebAPIDPoPProofRefusals(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	app := l.createClient(t, reportsApp)
	meta := l.metadata(t)
	send := func(p dpopProof) nodeResult {
		t.Helper()
		return runNode(t, "cc.mjs", map[string]string{"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID,
			"CLIENT_SECRET": app.ClientSecret, "SCOPE": "orders:read", "DPOP_PROOF": p.Proof})
	}

	good := handProof(t, http.MethodPost, meta.TokenEndpoint)
	r := send(good)
	if !r.OK {
		t.Fatalf("a correct hand-made proof: %s; stderr %s", r.Out, r.Stderr)
	}
	out := decode[ccOutput](t, r, "cc.mjs")
	if !strings.EqualFold(out.Token.TokenType, "DPoP") {
		t.Errorf("token_type %q with a proof, want DPoP", out.Token.TokenType)
	}
	v := verifyWithJose(t, l, out.Token.AccessToken, "https://api.example")
	if !v.OK {
		t.Fatalf("jose refused the DPoP-bound token: %s", v.Out)
	}
	if jkt := cnfJKT(decode[verifyOutput](t, v, "verify.mjs").Payload); jkt != good.JKT {
		t.Errorf("cnf.jkt %q, want the proof key's thumbprint %q", jkt, good.JKT)
	}

	for name, p := range map[string]dpopProof{
		"the same proof again (replayed jti)": good,
		"htu of another endpoint":             handProof(t, http.MethodPost, l.URL+"/oauth2/introspect"),
		"htm GET":                             handProof(t, http.MethodGet, meta.TokenEndpoint),
	} {
		f := mustFail(t, send(p), name)
		if f.Failed.Error != "invalid_dpop_proof" || f.Failed.Status != http.StatusBadRequest {
			t.Errorf("%s: oauth4webapi raised %+v, want invalid_dpop_proof (400)", name, *f.Failed)
		}
	}
}
