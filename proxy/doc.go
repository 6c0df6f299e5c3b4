// Package proxy is latchkey's gateway: an http.Handler that sits in front
// of any HTTP API, verifies the credential each request presents against
// the scopes its route requires, enforces IP rules and rate limits, strips
// the credential and forwards the request with identity headers
// (X-Latchkey-Key-Id, -Principal, -Scopes) to the upstream.
//
// Routes come from a YAML file ([Load], [Parse]):
//
//	routes:
//	  - path: /orders
//	    methods: [GET]
//	    scopes: [orders:read]
//	    rate_limits: [{name: orders, limit: 100, window: 1m}]
//	  - path: /orders
//	    methods: [POST]
//	    scope: orders:write AND (billing:read OR admin)
//	    api_key_header: true
//	  - path: /public
//	    anonymous: true
//
// The first route whose path prefix and method match a request decides;
// a request no route matches is refused with 404. Every refusal is an RFC
// 9457 problem document with a stable code (see the Code constants) and
// never reaches the upstream.
package proxy
