package client

import (
	"context"
	"net/http"

	"github.com/latchkey/latchkey/api"
)

// The calls of this file manage how a user signs in: the password, the
// TOTP second factor, the recovery codes and the browser sessions. They need
// a credential with "principals:write" (or "admin").

// SetPassword sets or replaces the password of a user
// (PUT /v1/users/{id}/password). A password the server's policy refuses is
// an [*Error] with status 400 and code "weak_password", whose message says
// why. The password is never part of an error the client returns.
func (c *Client) SetPassword(ctx context.Context, id, password string) error {
	p, err := itemPath(usersPath, "user id", id, "/password")
	if err != nil {
		return err
	}
	return c.do(ctx, jsonReq(http.MethodPut, p, api.SetPasswordRequest{Password: password}), nil)
}

// RemovePassword removes the password of a user
// (DELETE /v1/users/{id}/password): the user can no longer sign in with a
// password.
func (c *Client) RemovePassword(ctx context.Context, id string) error {
	return c.deleteUserItem(ctx, id, "/password")
}

// EnrollTOTP starts the enrolment of a TOTP authenticator for a user
// (POST /v1/users/{id}/totp). The result carries the new secret, which is
// never shown again; the factor stays pending until [Client.ConfirmTOTP].
// A user with an active TOTP factor is an [*Error] with status 409 and code
// "totp_active".
func (c *Client) EnrollTOTP(ctx context.Context, id string) (*api.TOTPEnrollment, error) {
	p, err := itemPath(usersPath, "user id", id, "/totp")
	if err != nil {
		return nil, err
	}
	return call[api.TOTPEnrollment](ctx, c, jsonReq(http.MethodPost, p, nil))
}

// ConfirmTOTP activates a pending TOTP factor with a code of the
// authenticator (POST /v1/users/{id}/totp/confirm) and returns the user's
// ten recovery codes, which are never shown again. A wrong code is an
// [*Error] with status 400 and code "invalid_code".
func (c *Client) ConfirmTOTP(ctx context.Context, id, code string) (*api.RecoveryCodes, error) {
	p, err := itemPath(usersPath, "user id", id, "/totp/confirm")
	if err != nil {
		return nil, err
	}
	return call[api.RecoveryCodes](ctx, c, jsonReq(http.MethodPost, p, api.TOTPConfirmRequest{Code: code}))
}

// RemoveTOTP removes the TOTP factor of a user, pending or active
// (DELETE /v1/users/{id}/totp).
func (c *Client) RemoveTOTP(ctx context.Context, id string) error {
	return c.deleteUserItem(ctx, id, "/totp")
}

// RegenerateRecoveryCodes replaces the recovery codes of a user by ten new
// ones (POST /v1/users/{id}/recovery-codes), which are never shown again.
// The old codes stop working.
func (c *Client) RegenerateRecoveryCodes(ctx context.Context, id string) (*api.RecoveryCodes, error) {
	p, err := itemPath(usersPath, "user id", id, "/recovery-codes")
	if err != nil {
		return nil, err
	}
	return call[api.RecoveryCodes](ctx, c, jsonReq(http.MethodPost, p, nil))
}

// Factors says which sign-in factors a user has
// (GET /v1/users/{id}/factors), never the factors themselves.
func (c *Client) Factors(ctx context.Context, id string) (*api.Factors, error) {
	p, err := itemPath(usersPath, "user id", id, "/factors")
	if err != nil {
		return nil, err
	}
	return call[api.Factors](ctx, c, getReq(p, nil))
}

// Sessions returns the signed-in browser sessions of a user
// (GET /v1/users/{id}/sessions).
func (c *Client) Sessions(ctx context.Context, id string) (*api.SessionList, error) {
	p, err := itemPath(usersPath, "user id", id, "/sessions")
	if err != nil {
		return nil, err
	}
	return call[api.SessionList](ctx, c, getReq(p, nil))
}

// EndSession signs a user out of one session
// (DELETE /v1/users/{id}/sessions/{sid}).
func (c *Client) EndSession(ctx context.Context, id, sessionID string) error {
	p, err := itemPath(usersPath, "user id", id, "/sessions")
	if err != nil {
		return err
	}
	if p, err = itemPath(p, "session id", sessionID, ""); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p, auth: true}, nil)
}

// EndSessions signs a user out of all its sessions
// (DELETE /v1/users/{id}/sessions) and says how many there were.
func (c *Client) EndSessions(ctx context.Context, id string) (*api.SessionsEnded, error) {
	p, err := itemPath(usersPath, "user id", id, "/sessions")
	if err != nil {
		return nil, err
	}
	return call[api.SessionsEnded](ctx, c, request{method: http.MethodDelete, path: p, auth: true})
}

// deleteUserItem sends DELETE /v1/users/{id}<suffix>, answered with 204.
func (c *Client) deleteUserItem(ctx context.Context, id, suffix string) error {
	p, err := itemPath(usersPath, "user id", id, suffix)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p, auth: true}, nil)
}
