package api

import "time"

// SetPasswordRequest is the body of PUT /v1/users/{id}/password.
type SetPasswordRequest struct {
	Password string `json:"password"`
}

// TOTPEnrollment is the answer of POST /v1/users/{id}/totp: the new TOTP
// seed, shown once, to be confirmed with a code.
type TOTPEnrollment struct {
	Secret     string `json:"secret"`      // base32, for manual entry
	OTPAuthURI string `json:"otpauth_uri"` // otpauth://totp/…, for a QR code
	Issuer     string `json:"issuer"`
	Account    string `json:"account"`
	Digits     int    `json:"digits"`
	Period     int    `json:"period"` // seconds
	Algorithm  string `json:"algorithm"`
}

// TOTPConfirmRequest is the body of POST /v1/users/{id}/totp/confirm.
type TOTPConfirmRequest struct {
	Code string `json:"code"`
}

// RecoveryCodes is the answer of POST /v1/users/{id}/totp/confirm and POST
// /v1/users/{id}/recovery-codes: ten single-use codes, shown once.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// Factors is the answer of GET /v1/users/{id}/factors: which sign-in
// factors a user has (never the factors themselves).
type Factors struct {
	Source            string           `json:"source"` // "local" or "ldap"
	Password          bool             `json:"password"`
	PasswordChangedAt *time.Time       `json:"password_changed_at,omitempty"`
	TOTP              string           `json:"totp"` // "none", "pending" or "active"
	RecoveryCodesLeft int              `json:"recovery_codes_left"`
	Passkeys          []PasskeySummary `json:"passkeys"`
}

// PasskeySummary describes one registered passkey.
type PasskeySummary struct {
	ID         string     `json:"id"` // credential ID, base64url
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// SessionFactor is one factor a session used, and when.
type SessionFactor struct {
	Method string    `json:"method"` // "pwd", "otp", "recovery_code", "passkey", "ldap"
	At     time.Time `json:"at"`
}

// Session is a signed-in browser session (never its cookie).
type Session struct {
	ID            string          `json:"id"`
	UserID        string          `json:"user_id"`
	CreatedAt     time.Time       `json:"created_at"`
	LastSeenAt    time.Time       `json:"last_seen_at"`
	ExpiresAt     time.Time       `json:"expires_at"`
	IdleExpiresAt time.Time       `json:"idle_expires_at"`
	IP            string          `json:"ip,omitempty"`
	UserAgent     string          `json:"user_agent,omitempty"`
	Factors       []SessionFactor `json:"factors"`
	// Apps are the apps signed in through this session (they got a grant
	// in it); back-channel logout tells them when it ends.
	Apps []SessionApp `json:"apps"`
}

// SessionApp is an app a session signed in to.
type SessionApp struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name,omitempty"`
}

// SessionList is the answer of GET /v1/users/{id}/sessions.
type SessionList struct {
	Items []Session `json:"items"`
}

// SessionsEnded is the answer of DELETE /v1/users/{id}/sessions.
type SessionsEnded struct {
	Ended int `json:"ended"`
}
