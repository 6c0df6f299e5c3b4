package client

import (
	"context"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/api"
)

// An app is an OAuth 2.0 client when it has OAuth settings: give
// [api.CreatePrincipalRequest.OAuth] to [Client.CreateApp], or
// [api.UpdatePrincipalRequest.OAuth] to [Client.UpdateApp] (which replaces
// them). The answer of either carries the client secret once, in
// [api.Principal.ClientSecret]; [Client.App] and [Client.Apps] never do.

// RotateClientSecret gives an OAuth app a new client secret
// (POST /v1/apps/{id}/secret), which is in the result and never shown
// again. The old secret keeps working for grace; zero stops it at once.
// An app that is not an OAuth client is a 404 client_not_found. The call
// is not retried: a retry would replace the secret a second time.
func (c *Client) RotateClientSecret(ctx context.Context, id string, grace time.Duration) (*api.ClientSecret, error) {
	p, err := itemPath(appsPath, "app id", id, "/secret")
	if err != nil {
		return nil, err
	}
	var req api.RotateSecretRequest
	if grace != 0 {
		req.GracePeriod = grace.String()
	}
	return call[api.ClientSecret](ctx, c, jsonReq(http.MethodPost, p, req))
}
