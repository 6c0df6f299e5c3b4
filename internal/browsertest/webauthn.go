package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// AddVirtualAuthenticator enables the DevTools WebAuthn domain on the tab
// of ctx (a [Tab.Context]) and adds a virtual platform authenticator to
// it, the kind a passkey lives on: CTAP2, internal transport, resident
// keys, user verification that succeeds, and presence that is simulated,
// so navigator.credentials.create and get complete without a prompt. It
// replaces any real authenticator for that tab. Use [Browser.SetUserVerified]
// to make verification fail.
func (b *Browser) AddVirtualAuthenticator(ctx context.Context) (webauthn.AuthenticatorID, error) {
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		return "", fmt.Errorf("browsertest: enable webauthn: %w", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		return "", fmt.Errorf("browsertest: add virtual authenticator: %w", err)
	}
	return res.AuthenticatorID, nil
}

// Credentials returns the credentials the virtual authenticator id holds
// (their private keys included: never log them).
func (b *Browser) Credentials(ctx context.Context, id webauthn.AuthenticatorID) ([]*webauthn.Credential, error) {
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		return nil, fmt.Errorf("browsertest: list credentials of %s: %w", id, err)
	}
	return res.Credentials, nil
}

// SetUserVerified sets whether user verification on the virtual
// authenticator id succeeds. With false, a ceremony that requires
// verification fails in the browser (NotAllowedError), and one that only
// prefers it yields an assertion without the UV flag, which a relying
// party requiring verification must refuse.
func (b *Browser) SetUserVerified(ctx context.Context, id webauthn.AuthenticatorID, verified bool) error {
	_, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: id, IsUserVerified: verified})
	if err != nil {
		return fmt.Errorf("browsertest: set user verified on %s: %w", id, err)
	}
	return nil
}

// SetBadUV makes the virtual authenticator id clear the UV flag in its
// responses while still claiming to have verified the user, so a test can
// check that the relying party, not only the browser, refuses an
// assertion without user verification.
func (b *Browser) SetBadUV(ctx context.Context, id webauthn.AuthenticatorID, bad bool) error {
	_, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: id, IsBadUV: &bad})
	if err != nil {
		return fmt.Errorf("browsertest: set response override bits on %s: %w", id, err)
	}
	return nil
}
