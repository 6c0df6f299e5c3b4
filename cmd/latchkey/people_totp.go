package main

import (
	"fmt"

	"github.com/mdp/qrterminal/v3"

	"github.com/latchkey/latchkey/api"
)

// maxQRText bounds the otpauth URI drawn as a QR code: a real one is about
// 150 bytes, and a text beyond a QR code's capacity cannot be drawn.
const maxQRText = 1024

// totpCommands are the subcommands of "latchkey users totp".
func totpCommands() []subcommand {
	return []subcommand{
		{"enroll", "ID", "Start a TOTP enrolment: print the secret (shown once), its URI and a QR code; pending until confirmed.", `  latchkey users totp enroll alice
  latchkey users totp enroll alice --json | jq -r .otpauth_uri`, totpEnroll},
		{"confirm", "ID CODE", "Activate a pending TOTP factor with a code of the app; print the ten recovery codes (shown once).", `  latchkey users totp confirm alice 492039
  latchkey users totp confirm alice 492039 --json | jq -r '.recovery_codes[]'`, totpConfirm},
		{"remove", "ID", "Remove a user's TOTP factor, pending or active.", `  latchkey users totp remove alice`, totpRemove},
	}
}

func totpEnroll(c *cli, f *cmdFlags, args []string) error {
	noQR := f.Bool("no-qr", false, "do not draw the QR code")
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	e, err := cl.EnrollTOTP(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(e)
	}
	fmt.Fprintf(c.stdout, "Started TOTP enrolment of user %s; it is pending until confirmed.\n", cleanCell(pos[0]))
	if !*noQR && e.OTPAuthURI != "" && len(e.OTPAuthURI) <= maxQRText {
		fmt.Fprintf(c.stdout, "\nScan this QR code with an authenticator app:\n\n")
		qrterminal.GenerateWithConfig(e.OTPAuthURI, qrterminal.Config{
			Level: qrterminal.M, Writer: c.stdout, HalfBlocks: true, QuietZone: 2,
		})
	}
	fmt.Fprintln(c.stdout)
	d := newDetails(c.stdout)
	d.line("Secret", e.Secret)
	d.line("URI", e.OTPAuthURI)
	d.line("Issuer", e.Issuer)
	d.line("Account", e.Account)
	d.line("Code", fmt.Sprintf("%d digits every %ds, %s", e.Digits, e.Period, e.Algorithm))
	if err := d.flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "\nThe secret is shown once. Confirm with a code of the app:\n    latchkey users totp confirm %s CODE\n", cleanCell(pos[0]))
	return err
}

func totpConfirm(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	rc, err := cl.ConfirmTOTP(c.ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(rc)
	}
	fmt.Fprintf(c.stdout, "TOTP is active for user %s. Its recovery codes, each good for one sign-in:\n", cleanCell(pos[0]))
	return c.printRecoveryCodes(rc)
}

func totpRemove(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	if err := cl.RemoveTOTP(c.ctx, pos[0]); err != nil {
		return err
	}
	if !f.json {
		fmt.Fprintf(c.stdout, "Removed the TOTP factor of user %s.\n", cleanCell(pos[0]))
	}
	return nil
}

func regenerateRecoveryCodes(c *cli, f *cmdFlags, args []string) error {
	cl, pos, err := c.parseForClient(f, args)
	if err != nil {
		return err
	}
	rc, err := cl.RegenerateRecoveryCodes(c.ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(rc)
	}
	fmt.Fprintf(c.stdout, "New recovery codes of user %s, each good for one sign-in; the old ones no longer work:\n", cleanCell(pos[0]))
	return c.printRecoveryCodes(rc)
}

// printRecoveryCodes prints recovery codes with the warning that they are
// shown once.
func (c *cli) printRecoveryCodes(rc *api.RecoveryCodes) error {
	fmt.Fprintln(c.stdout)
	for _, code := range rc.RecoveryCodes {
		fmt.Fprintf(c.stdout, "    %s\n", cleanCell(code))
	}
	_, err := fmt.Fprintf(c.stdout, "\nStore them now: they will not be shown again.\n")
	return err
}
