package api

import "time"

// CreateWebhookRequest is the body of POST /v1/webhooks.
type CreateWebhookRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// UpdateWebhookRequest is the body of PATCH /v1/webhooks/{id}; absent
// fields stay as they are.
type UpdateWebhookRequest struct {
	URL         *string   `json:"url,omitempty"`
	Events      *[]string `json:"events,omitempty"`
	Description *string   `json:"description,omitempty"`
	Enabled     *bool     `json:"enabled,omitempty"`
}

// RotateWebhookSecretRequest is the body of POST
// /v1/webhooks/{id}/rotate-secret: how long the old secret keeps signing
// beside the new one (default 24h; "0s": not at all).
type RotateWebhookSecretRequest struct {
	Grace string `json:"grace,omitempty"`
}

// Webhook is a webhook as the API shows it; Secret is set only in the
// answer that creates it or rotates its secret.
type Webhook struct {
	ID                string     `json:"id"`
	URL               string     `json:"url"`
	Events            []string   `json:"events"`
	Description       string     `json:"description"`
	Enabled           bool       `json:"enabled"`
	DisabledReason    string     `json:"disabled_reason,omitempty"`
	Secret            string     `json:"secret,omitempty"`
	PrevSecretExpires *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// WebhookList is the answer of GET /v1/webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}

// WebhookDelivery is one event for one webhook and its attempts so far.
type WebhookDelivery struct {
	ID            string     `json:"id"`
	Event         string     `json:"event"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastDuration  string     `json:"last_duration,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	// AttemptLog is every kept attempt, newest first: only in the answer
	// of GET /v1/webhooks/{id}/deliveries/{did} (attempts is their count
	// since the last redelivery).
	AttemptLog []WebhookAttempt `json:"attempt_log,omitempty"`
}

// WebhookAttempt is one attempt of a delivery: when, the receiver's HTTP
// status (0: no answer), how long it took, why it failed, and the first
// bytes of the answer's body.
type WebhookAttempt struct {
	Number     int       `json:"number"`
	StartedAt  time.Time `json:"started_at"`
	Duration   string    `json:"duration"`
	Status     int       `json:"status"`
	Error      string    `json:"error,omitempty"`
	Response   string    `json:"response,omitempty"`
	Redelivery bool      `json:"redelivery"`
}

// WebhookDeliveryList is a page of GET /v1/webhooks/{id}/deliveries.
type WebhookDeliveryList struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
	NextCursor string            `json:"next_cursor,omitempty"`
}
