package main

import (
	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// auditCommands are the subcommands of "latchkey audit".
func auditCommands() []subcommand {
	return []subcommand{
		{"list", "", "List audit events, newest first.", `  latchkey audit list
  latchkey audit list --action key.revoke --limit 20
  latchkey audit list --target key_2x8f --all --json`, auditList},
		{"checkpoint", "", "Print the latest signed checkpoint of the audit log (tree size and root hash, signed with the installation's audit key). Save it somewhere the database's administrators cannot write, and give it to 'latchkey audit verify --checkpoint' later.", `  latchkey audit checkpoint > checkpoint-$(date +%F).txt
  latchkey audit checkpoint --json`, auditCheckpoint},
		auditVerifyCommand(),
	}
}

func auditList(c *cli, f *cmdFlags, args []string) error {
	action := f.String("action", "", "only events of this `action`, e.g. key.revoke")
	target := f.String("target", "", "only events about the object with this `id`")
	actor := f.String("actor", "", "only events by this `actor`")
	p := f.pageFlags()
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	items, next, err := collect(p, func(cursor string) ([]api.AuditEvent, string, error) {
		l, err := cl.Audit(c.ctx, client.AuditListOptions{Action: *action, TargetID: *target, Actor: *actor, Limit: p.limit, Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.NextCursor, nil
	})
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(api.AuditList{Items: items, NextCursor: next})
	}
	t := newTable(c.stdout, "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME")
	for _, e := range items {
		target := e.TargetType
		if e.TargetID != "" {
			target += ":" + e.TargetID
		}
		t.row(timeString(e.Time), e.Actor, e.Action, target, e.Outcome)
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.moreHint(next)
	return nil
}
