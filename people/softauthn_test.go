package people_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator data flags (W3C WebAuthn L3 §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagBE = 0x08 // backup eligible
	flagBS = 0x10 // backed up
	flagAT = 0x40 // attested credential data included
)

// softAuthn is a software authenticator and client in one: one ES256
// discoverable credential with "none" attestation, answering the options
// the people service hands out with the PublicKeyCredential JSON a browser
// would post.
type softAuthn struct {
	t          *testing.T
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte // from the registration options
	rpID       string
	origin     string
	counter    uint32 // the last signature counter; get adds one
	backup     bool   // sets BE and BS
}

// tweak bends one answer of a softAuthn, for the negative cases; the zero
// value is an honest answer.
type tweak struct {
	typ         string // clientDataJSON type instead of the ceremony's
	origin      string // clientDataJSON origin instead of the authenticator's
	rpID        string // the RP ID whose hash goes into authenticatorData
	crossOrigin bool
	flags       byte // authenticatorData flags instead of UP|UV (AT is added at registration)
	challenge   []byte
}

func newSoftAuthn(t *testing.T, rpID, origin string) *softAuthn {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &softAuthn{t: t, key: key, credID: id, rpID: rpID, origin: origin}
}

// b64 is WebAuthn's base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

// options is what the tests read of a ceremony's options (both kinds).
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		UserVerification       string `json:"userVerification"`
		AuthenticatorSelection struct {
			UserVerification string `json:"userVerification"`
			ResidentKey      string `json:"residentKey"`
		} `json:"authenticatorSelection"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

func parseOptions(t *testing.T, raw []byte) *options {
	t.Helper()
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("options %s: %v", raw, err)
	}
	if o.PublicKey.Challenge == "" {
		t.Fatalf("options without a challenge: %s", raw)
	}
	return &o
}

func (a *softAuthn) clientData(typ, challenge string, tw tweak) []byte {
	if tw.typ != "" {
		typ = tw.typ
	}
	origin := a.origin
	if tw.origin != "" {
		origin = tw.origin
	}
	if tw.challenge != nil {
		challenge = b64(tw.challenge)
	}
	b, err := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, challenge, origin, tw.crossOrigin})
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

// authData returns rpIdHash || flags || signCount.
func (a *softAuthn) authData(tw tweak, extra byte, counter uint32) []byte {
	rpID := a.rpID
	if tw.rpID != "" {
		rpID = tw.rpID
	}
	h := sha256.Sum256([]byte(rpID))
	flags := byte(flagUP | flagUV)
	if tw.flags != 0 {
		flags = tw.flags
	}
	if a.backup {
		flags |= flagBE | flagBS
	}
	out := append(h[:], flags|extra)
	return binary.BigEndian.AppendUint32(out, counter)
}

// coseKey is the credential's public key as a COSE_Key (RFC 9053 EC2).
func (a *softAuthn) coseKey() []byte {
	pub, err := a.key.PublicKey.ECDH()
	if err != nil {
		a.t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 || x || y
	b, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		a.t.Fatal(err)
	}
	out, err := b.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		a.t.Fatal(err)
	}
	return out
}

// create answers registration options (Ceremony.Options) with a new
// credential: the body of FinishPasskeyRegistration.
func (a *softAuthn) create(opts []byte, tw tweak) []byte {
	a.t.Helper()
	o := parseOptions(a.t, opts)
	a.userHandle = unb64(a.t, o.PublicKey.User.ID)
	cdj := a.clientData("webauthn.create", o.PublicKey.Challenge, tw)
	ad := a.authData(tw, flagAT, 0)
	ad = append(ad, make([]byte, 16)...) // AAGUID: none
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(a.credID)))
	ad = append(ad, a.credID...)
	ad = append(ad, a.coseKey()...)
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		a.t.Fatal(err)
	}
	att, err := em.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		a.t.Fatal(err)
	}
	return a.credential(map[string]any{"clientDataJSON": b64(cdj), "attestationObject": b64(att), "transports": []string{"internal"}})
}

// get answers assertion options with a signature of the next counter
// value: the body of the passkey Finish*SignIn, SecondFactor and StepUp.
func (a *softAuthn) get(opts []byte, tw tweak) []byte {
	a.t.Helper()
	o := parseOptions(a.t, opts)
	cdj := a.clientData("webauthn.get", o.PublicKey.Challenge, tw)
	a.counter++
	ad := a.authData(tw, 0, a.counter)
	cdh := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	resp := map[string]any{"clientDataJSON": b64(cdj), "authenticatorData": b64(ad), "signature": b64(sig)}
	if a.userHandle != nil {
		resp["userHandle"] = b64(a.userHandle)
	}
	return a.credential(resp)
}

func (a *softAuthn) credential(resp map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": b64(a.credID), "rawId": b64(a.credID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{}, "response": resp,
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}
