package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/api"
)

// webhookCommands are the subcommands of "latchkey webhooks". In create
// and update, --url is the receiver's URL; the server's comes from
// --server or $LATCHKEY_URL.
func webhookCommands() []subcommand {
	return []subcommand{
		{"create", "", "Subscribe a receiver URL to events. Its signing secret (whsec_…) is shown once;\nevents: key.created, key.rotated, key.revoked, key.leaked, key.expiring,\nratelimit.exceeded, principal.disabled, signing_key.rotated, oauth.grant.revoked,\noauth.refresh_reuse_detected.", `  latchkey webhooks create --url https://hooks.example.com/latchkey --events key.revoked,key.leaked`, webhooksCreate},
		{"list", "", "List the webhooks.", `  latchkey webhooks list`, webhooksList},
		{"update", "WEBHOOK_ID", "Change a webhook's URL, events or description; --enable resumes one\n(also one disabled because its receiver answered 410 Gone).", `  latchkey webhooks update wh_2x8f --events key.revoked,key.leaked,key.expiring
  latchkey webhooks update wh_2x8f --enable`, webhooksUpdate},
		{"disable", "WEBHOOK_ID", "Stop delivering to a webhook; its events wait until it is enabled again.", `  latchkey webhooks disable wh_2x8f`, webhooksDisable},
		{"rotate-secret", "WEBHOOK_ID", "Give a webhook a new signing secret (shown once). The old secret keeps signing\nbeside it for --grace (default 24h), so receivers can switch without a gap.", `  latchkey webhooks rotate-secret wh_2x8f --grace 1h`, webhooksRotate},
		{"delete", "WEBHOOK_ID", "Delete a webhook and its deliveries.", `  latchkey webhooks delete wh_2x8f`, webhooksDelete},
		{"deliveries", "WEBHOOK_ID", "List a webhook's deliveries, newest first: state, attempts, last status and error.", `  latchkey webhooks deliveries wh_2x8f`, webhooksDeliveries},
		{"delivery", "WEBHOOK_ID DELIVERY_ID", "Show every attempt of a delivery, newest first: when, the receiver's HTTP status\n(- when it did not answer), how long it took, and the error or the start of its answer.", `  latchkey webhooks delivery wh_2x8f msg_06h0…`, webhooksDelivery},
		{"redeliver", "WEBHOOK_ID DELIVERY_ID", "Send a delivery again, with the same webhook-id.", `  latchkey webhooks redeliver wh_2x8f msg_06h0…`, webhooksRedeliver},
	}
}

// receiverURL makes --url the receiver's URL and --server the server's.
func receiverURL(f *cmdFlags) (receiver func() string) {
	f.Lookup("url").Usage = "the receiver's `URL` (https; http only with LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true on the server)"
	server := f.String("server", "", "server base `URL` (default $LATCHKEY_URL or "+defaultURL+")")
	return func() string {
		u := f.url
		f.url = *server
		return u
	}
}

func webhooksCreate(c *cli, f *cmdFlags, args []string) error {
	receiver := receiverURL(f)
	var events listFlag
	f.listFlags(&events, "event", "events", "an `event` to receive")
	desc := f.String("description", "", "what the webhook is for")
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	u := receiver()
	if u == "" || len(events.vals) == 0 {
		return usagef("webhooks create needs --url and --events")
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	w, err := cl.CreateWebhook(c.ctx, api.CreateWebhookRequest{URL: u, Events: events.vals, Description: *desc})
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(w)
	}
	fmt.Fprintf(c.stdout, "Created webhook %s for %s (%s).\n", w.ID, w.URL, strings.Join(w.Events, ", "))
	fmt.Fprintf(c.stdout, "\nSigning secret (verify the webhook-signature header with it):\n")
	c.printSecret(w.Secret)
	return nil
}

func webhookRow(t *table, w api.Webhook) {
	state := "enabled"
	if !w.Enabled {
		state = "disabled"
		if w.DisabledReason == "gone" {
			state = "disabled (410 Gone)"
		}
	}
	t.row(w.ID, w.URL, strings.Join(w.Events, ","), state, timeString(w.CreatedAt))
}

func webhooksList(c *cli, f *cmdFlags, args []string) error {
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	l, err := cl.Webhooks(c.ctx)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(l)
	}
	t := newTable(c.stdout, "ID", "URL", "EVENTS", "STATE", "CREATED")
	for _, w := range l.Webhooks {
		webhookRow(t, w)
	}
	return t.flush()
}

func webhooksUpdate(c *cli, f *cmdFlags, args []string) error {
	receiver := receiverURL(f)
	var events listFlag
	f.listFlags(&events, "event", "events", "an `event` to receive (replaces the list)")
	desc := f.String("description", "", "what the webhook is for")
	enable := f.Bool("enable", false, "enable the webhook")
	disable := f.Bool("disable", false, "disable the webhook")
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	var req api.UpdateWebhookRequest
	if u := receiver(); u != "" {
		req.URL = &u
	}
	if events.set {
		evs := events.values()
		req.Events = &evs
	}
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == "description" {
			req.Description = desc
		}
	})
	switch {
	case *enable && *disable:
		return usagef("--enable and --disable exclude each other")
	case *enable || *disable:
		on := *enable
		req.Enabled = &on
	}
	return c.updateWebhook(f, pos[0], req)
}

func (c *cli) updateWebhook(f *cmdFlags, id string, req api.UpdateWebhookRequest) error {
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	w, err := cl.UpdateWebhook(c.ctx, id, req)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(w)
	}
	t := newTable(c.stdout, "ID", "URL", "EVENTS", "STATE", "CREATED")
	webhookRow(t, *w)
	return t.flush()
}

func webhooksDisable(c *cli, f *cmdFlags, args []string) error {
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	off := false
	return c.updateWebhook(f, pos[0], api.UpdateWebhookRequest{Enabled: &off})
}

func webhooksRotate(c *cli, f *cmdFlags, args []string) error {
	grace := f.String("grace", "", "how long the old secret keeps signing (default 24h; 0s: stop at once)")
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	w, err := cl.RotateWebhookSecret(c.ctx, pos[0], api.RotateWebhookSecretRequest{Grace: *grace})
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(w)
	}
	fmt.Fprintf(c.stdout, "New signing secret of webhook %s", w.ID)
	if w.PrevSecretExpires != nil {
		fmt.Fprintf(c.stdout, " (the old one signs too until %s)", timeString(*w.PrevSecretExpires))
	}
	fmt.Fprintln(c.stdout, ":")
	c.printSecret(w.Secret)
	return nil
}

func webhooksDelete(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	if err := cl.DeleteWebhook(c.ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Deleted webhook %s.\n", pos[0])
	return nil
}

func webhooksDeliveries(c *cli, f *cmdFlags, args []string) error {
	cursor := f.String("cursor", "", "the next page's `cursor`")
	limit := f.Int("limit", 50, "deliveries per page (1-100)")
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	l, err := cl.WebhookDeliveries(c.ctx, pos[0], *cursor, *limit)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(l)
	}
	t := newTable(c.stdout, "ID", "EVENT", "STATE", "ATTEMPTS", "LAST STATUS", "DURATION", "CREATED", "ERROR")
	for _, d := range l.Deliveries {
		status := "-"
		if d.LastStatus != 0 {
			status = fmt.Sprint(d.LastStatus)
		}
		t.row(d.ID, d.Event, d.State, fmt.Sprint(d.Attempts), status, d.LastDuration, timeString(d.CreatedAt), d.LastError)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if l.NextCursor != "" {
		fmt.Fprintf(c.stderr, "more: --cursor %s\n", l.NextCursor)
	}
	return nil
}

func webhooksDelivery(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	d, err := cl.WebhookDelivery(c.ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(d)
	}
	fmt.Fprintf(c.stdout, "Delivery %s (%s): %s, created %s.\n", d.ID, d.Event, d.State, timeString(d.CreatedAt))
	if len(d.AttemptLog) == 0 {
		fmt.Fprintln(c.stdout, "No attempt yet: it goes out as soon as a node is free.")
		return nil
	}
	t := newTable(c.stdout, "#", "STARTED", "STATUS", "DURATION", "REDELIVERY", "ERROR / RESPONSE")
	for _, a := range d.AttemptLog {
		status, redelivery := "-", ""
		if a.Status != 0 {
			status = fmt.Sprint(a.Status)
		}
		if a.Redelivery {
			redelivery = "yes"
		}
		t.row(fmt.Sprint(a.Number), timeString(a.StartedAt), status, a.Duration, redelivery, attemptOutcome(a))
	}
	return t.flush()
}

// attemptOutcome is an attempt's error and the start of the receiver's
// answer, cut to fit a table row (--json has all of it).
func attemptOutcome(a api.WebhookAttempt) string {
	s := a.Error
	if a.Response != "" {
		if s != "" {
			s += ": "
		}
		s += a.Response
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}

func webhooksRedeliver(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	d, err := cl.RedeliverWebhook(c.ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(d)
	}
	fmt.Fprintf(c.stdout, "Delivery %s queued again.\n", d.ID)
	return nil
}
