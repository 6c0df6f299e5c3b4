package oauth

import (
	"context"
	"strings"
	"time"

	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// Token types of RFC 8693 §3.
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
)

// subject is what a subject token proves: whom it acts for, the key it
// derives from (if any), what it may do now and until when.
type subject struct {
	sub    string
	keyID  string
	scopes []string
	expiry time.Time     // zero: the subject does not expire
	act    *signer.Actor // the subject token's own act chain
}

// exchange is the token-exchange grant (RFC 8693): a client trades a
// subject token — an API key, an opaque OAuth token or a latchkey JWT — for
// a downscoped access token for one of its registered audiences. The new
// token acts for the subject (sub, and key_id when it derives from a key, so
// revoking the key ends it too), carries the exchanging client as client_id,
// and never more than the subject may do now ∩ the client's permissions.
// A missing or bad subject token is an error, never a token for the
// client itself (TX-01). With an actor_token — the client's own token — the
// new token records the delegation in act (TX-03).
func (s *Service) exchange(ctx context.Context, c *Client, p *token.Principal, form map[string][]string, requested, audiences []string, jkt string) (*TokenResponse, error) {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	subjectToken, subjectType := get("subject_token"), get("subject_token_type")
	if subjectToken == "" || subjectType == "" {
		return nil, &Error{Code: "invalid_request", Description: "subject_token and subject_token_type are required"}
	}
	actorToken, actorType := get("actor_token"), get("actor_token_type")
	if (actorToken == "") != (actorType == "") {
		return nil, &Error{Code: "invalid_request", Description: "actor_token and actor_token_type go together"}
	}
	if rt := get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken && rt != TokenTypeJWT {
		return nil, &Error{Code: "invalid_request", Description: "requested_token_type: only access tokens are issued"}
	}
	if subjectType != TokenTypeAccessToken && subjectType != TokenTypeJWT {
		return nil, &Error{Code: "invalid_request", Description: "subject_token_type must be " + TokenTypeAccessToken + " or " + TokenTypeJWT}
	}
	subj, err := s.subject(ctx, subjectToken, subjectType)
	if err != nil {
		return nil, err
	}
	// Delegation (RFC 8693 §4.1, TX-03): the actor is the client itself,
	// proven by a token of its own; it joins the front of the subject's
	// act chain, which may not grow past signer.MaxActorDepth.
	act := subj.act
	if actorToken != "" {
		if actorType != TokenTypeAccessToken && actorType != TokenTypeJWT {
			return nil, &Error{Code: "invalid_request", Description: "actor_token_type must be " + TokenTypeAccessToken + " or " + TokenTypeJWT}
		}
		actor, err := s.subject(ctx, actorToken, actorType)
		if err != nil {
			return nil, &Error{Code: "invalid_grant", Description: "the actor token is not valid"}
		}
		if actor.sub != string(token.App)+":"+c.AppID {
			return nil, &Error{Code: "invalid_grant", Description: "the actor token must be the client's own"}
		}
		act = &signer.Actor{Subject: actor.sub, Actor: subj.act}
		if act.Depth() > signer.MaxActorDepth {
			return nil, &Error{Code: "invalid_request", Description: "the delegation chain is too long"}
		}
	}
	held := scope.Intersect(subj.scopes, p.Permissions)
	scopes := held
	if len(requested) > 0 {
		if scopes, err = narrowScopes(held, requested); err != nil {
			return nil, err
		}
	}
	aud, err := pickAudiences(c, audiences)
	if err != nil {
		return nil, err
	}
	if len(aud) == 0 {
		return nil, &Error{Code: "invalid_target", Description: "the client registered no audiences to exchange tokens for"}
	}
	now := s.tokens.Now()
	exp := now.Add(s.ttl).Truncate(time.Second)
	if !subj.expiry.IsZero() && subj.expiry.Before(exp) {
		exp = subj.expiry.Truncate(time.Second) // never outlive the subject
	}
	if !exp.After(now) {
		return nil, &Error{Code: "invalid_grant", Description: "the subject token expires within a second"}
	}
	jwt, err := signer.Issue(s.signer.Ring(), signer.AccessClaims{
		Issuer: s.issuer, Subject: subj.sub, Audience: aud, Expiry: exp, Scope: scopes, ClientID: c.AppID, KeyID: subj.keyID,
		Actor: act, ConfirmationJKT: jkt,
	}, now)
	if err != nil {
		return nil, &Error{Code: "temporarily_unavailable", Description: "no signing key is available"}
	}
	return &TokenResponse{AccessToken: jwt, IssuedTokenType: TokenTypeAccessToken, TokenType: tokenType(jkt),
		ExpiresIn: int64(exp.Sub(now) / time.Second), Scope: strings.Join(scopes, " ")}, nil
}

var errSubject = &Error{Code: "invalid_grant", Description: "the subject token is not valid"}

// subject checks a subject token and returns what it stands for now.
func (s *Service) subject(ctx context.Context, tok, typ string) (*subject, error) {
	if strings.Count(tok, ".") == 2 {
		claims := s.ownJWT(tok)
		if claims == nil {
			return nil, errSubject
		}
		current, live, err := s.tokens.JWTScopes(ctx, claims.KeyID, claims.Subject, claims.ClientID, claims.Scope)
		if err != nil {
			return nil, err
		}
		if !live {
			return nil, errSubject
		}
		if claims.ConfirmationJKT != "" {
			// The exchanged bearer token would drop the binding.
			return nil, &Error{Code: "invalid_grant", Description: "a DPoP-bound token cannot be exchanged"}
		}
		return &subject{sub: claims.Subject, keyID: claims.KeyID, scopes: current, expiry: claims.Expiry, act: claims.Actor}, nil
	}
	if typ == TokenTypeJWT {
		return nil, errSubject
	}
	res, err := s.tokens.Verify(ctx, token.VerifyRequest{Key: tok, DryRun: true})
	if err != nil {
		return nil, err
	}
	k := res.Key
	if !res.Valid || k == nil {
		return nil, errSubject
	}
	if len(k.IPAllow) > 0 || k.SigningSecret != nil || k.DPoPJKT != "" || k.Remaining != nil || len(k.RateLimits) > 0 || len(res.RateLimits) > 0 {
		// A bearer JWT is presented by anyone, from anywhere, as often as
		// they like: it would escape the key's address, signature, DPoP,
		// credit and rate bounds (KEY-06), as POST /v1/tokens refuses too.
		return nil, &Error{Code: "invalid_grant", Description: "keys bound to addresses, signatures or DPoP keys, or with credits or rate limits, cannot be exchanged"}
	}
	sub := k.ID
	if k.Owner != nil {
		sub = string(k.Owner.Type) + ":" + k.Owner.ID
	}
	return &subject{sub: sub, keyID: k.ID, scopes: res.Scopes, expiry: k.ExpiresAt}, nil
}
