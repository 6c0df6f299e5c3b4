// Package token is latchkey's domain: keys (API keys and personal access
// tokens), keyspaces, principals (users and apps), scopes of management
// credentials, and the Service that creates, verifies, updates, rotates,
// renews and revokes keys.
//
// The package imports nothing of transport or storage. It declares the small
// storage interfaces it needs (see store.go); the adapters in store/... and
// httpapi implement and call it.
package token
