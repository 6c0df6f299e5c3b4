package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Tab is one page of a [Browser]. Its helpers end the test on an error,
// as test helpers do; [Tab.Context] gives the chromedp context for
// anything they do not cover. A Tab is used from one goroutine.
type Tab struct {
	t   testing.TB
	ctx context.Context

	mu        sync.Mutex
	entries   []Entry
	documents []Document
	dialogs   bool // accept JavaScript dialogs (confirm, alert)
}

// Document is the answer to one top-level or frame document request the
// tab made: a navigation, a form submission, a redirect's target.
type Document struct {
	URL    string
	Status int
	// Header holds the response headers as the browser received them,
	// with canonical names as the server sent them.
	Header map[string]string
}

// Entry is one message of a page's console: a console API call, an uncaught
// exception, or an entry of the browser's log (where CSP violations land).
type Entry struct {
	// Level is "error", "warning", "info", "verbose" or a console API type
	// such as "log"; an uncaught exception is "error".
	Level string
	// Source is where a browser log entry came from ("security",
	// "network", "javascript", …); "console" for a console API call and
	// "exception" for an uncaught exception.
	Source string
	// Text is the message as the DevTools console shows it.
	Text string
	// URL is the resource the message is about, when the browser says.
	URL string
}

// String renders the entry for test output.
func (e Entry) String() string {
	s := e.Source + "/" + e.Level + ": " + e.Text
	if e.URL != "" {
		s += " (" + e.URL + ")"
	}
	return s
}

// NewTab opens a new tab in b, closed when t ends. The tab records its
// console from its first moment.
func (b *Browser) NewTab(t testing.TB) *Tab {
	t.Helper()
	tab := &Tab{t: t}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(tab.record))
	t.Cleanup(cancel)
	tab.ctx = ctx
	if err := chromedp.Do(ctx); err != nil { // opens the target
		t.Fatalf("browsertest: new tab: %v", err)
	}
	return tab
}

// AcceptDialogs makes the tab accept every JavaScript dialog (confirm,
// alert, prompt) the page opens from now on, as a person clicking OK
// would; each dialog is also recorded as a console entry of source
// "dialog". Without it a dialog stays open and blocks the page.
func (tab *Tab) AcceptDialogs() {
	tab.mu.Lock()
	tab.dialogs = true
	tab.mu.Unlock()
}

// Documents returns the document responses the tab has received so far,
// oldest first, after letting the page settle.
func (tab *Tab) Documents() []Document {
	tab.t.Helper()
	tab.settle()
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]Document(nil), tab.documents...)
}

// LastDocument returns the latest document response whose URL is url
// (the page a click or navigation led to), ending the test if there was
// none.
func (tab *Tab) LastDocument(url string) Document {
	tab.t.Helper()
	docs := tab.Documents()
	for i := len(docs) - 1; i >= 0; i-- {
		if docs[i].URL == url {
			return docs[i]
		}
	}
	tab.t.Fatalf("browsertest: no document response for %s", url)
	return Document{}
}

// Context returns the tab's chromedp context, for chromedp.Do, Run and
// Call.
func (tab *Tab) Context() context.Context { return tab.ctx }

// record is the tab's event listener; it runs on chromedp's reading
// goroutine and only appends.
func (tab *Tab) record(ev any) {
	var e Entry
	switch ev := ev.(type) {
	case *log.EventEntryAdded:
		if ev.Entry == nil {
			return
		}
		e = Entry{Level: string(ev.Entry.Level), Source: string(ev.Entry.Source), Text: ev.Entry.Text, URL: ev.Entry.URL}
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			switch {
			case a.Value != nil:
				s := string(a.Value)
				if u, err := strconv.Unquote(s); err == nil {
					s = u
				}
				parts = append(parts, s)
			case a.Description != "":
				parts = append(parts, a.Description)
			default:
				parts = append(parts, string(a.Type))
			}
		}
		e = Entry{Level: string(ev.Type), Source: "console", Text: strings.Join(parts, " ")}
	case *runtime.EventExceptionThrown:
		if ev.ExceptionDetails == nil {
			return
		}
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		e = Entry{Level: "error", Source: "exception", Text: text, URL: d.URL}
	case *network.EventResponseReceived:
		if ev.Type != network.ResourceTypeDocument || ev.Response == nil {
			return
		}
		d := Document{URL: ev.Response.URL, Status: int(ev.Response.Status), Header: map[string]string{}}
		for k, v := range ev.Response.Headers {
			if s, ok := v.(string); ok {
				d.Header[http.CanonicalHeaderKey(k)] = s
			}
		}
		tab.mu.Lock()
		tab.documents = append(tab.documents, d)
		tab.mu.Unlock()
		return
	case *page.EventJavascriptDialogOpening:
		tab.mu.Lock()
		accept := tab.dialogs
		tab.mu.Unlock()
		if accept {
			// Not on the reading goroutine: the call waits for a reply
			// that goroutine delivers.
			go chromedp.Call(tab.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}) //nolint:errcheck // a dialog closed by a navigation is gone anyway
		}
		e = Entry{Level: "info", Source: "dialog", Text: string(ev.Type) + ": " + ev.Message, URL: ev.URL}
	default:
		return
	}
	tab.mu.Lock()
	tab.entries = append(tab.entries, e)
	tab.mu.Unlock()
}

// do runs the actions and ends the test on an error.
func (tab *Tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	if err := chromedp.Do(tab.ctx, actions...); err != nil {
		tab.t.Fatalf("browsertest: %s: %v", what, err)
	}
}

// Navigate loads url and waits for its load event.
func (tab *Tab) Navigate(url string) {
	tab.t.Helper()
	tab.do("navigate to "+url, chromedp.Navigate(url))
}

// Fill types value into the form field named name (the first element with
// that name attribute), after clearing it, as a person would.
func (tab *Tab) Fill(name, value string) {
	tab.t.Helper()
	sel := chromedp.CSS(`[name="` + cssEscape(name) + `"]`)
	// The value stays out of the failure message: it may be a password.
	tab.do("fill field "+name, chromedp.Clear(sel), chromedp.SendKeys(sel, value))
}

// Click clicks the first element matching the CSS selector, once it is
// visible. It does not wait for a navigation the click may start; see
// [Tab.ClickAndWaitLoad].
func (tab *Tab) Click(selector string) {
	tab.t.Helper()
	tab.do("click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// ClickAndWaitLoad clicks the first element matching the CSS selector and
// waits for the load event of the page the click leads to (a form submit,
// a link).
func (tab *Tab) ClickAndWaitLoad(selector string) {
	tab.t.Helper()
	_, err := chromedp.Run(tab.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(selector))))
	if err != nil {
		tab.t.Fatalf("browsertest: click %s and wait for load: %v", selector, err)
	}
}

// WaitVisible waits until an element matching the CSS selector is visible.
func (tab *Tab) WaitVisible(selector string) {
	tab.t.Helper()
	tab.do("wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// Text returns the visible text of the first element matching the CSS
// selector, waiting for it to be visible.
func (tab *Tab) Text(selector string) string {
	tab.t.Helper()
	s, err := chromedp.Run(tab.ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		tab.t.Fatalf("browsertest: text of %s: %v", selector, err)
	}
	return s
}

// URL returns the address of the page the tab shows.
func (tab *Tab) URL() string {
	tab.t.Helper()
	u, err := chromedp.Run(tab.ctx, chromedp.Location())
	if err != nil {
		tab.t.Fatalf("browsertest: location: %v", err)
	}
	return u
}

// Eval evaluates a JavaScript expression in the page and returns its value
// decoded into T; a promise is awaited.
func Eval[T any](tab *Tab, expr string) T {
	tab.t.Helper()
	v, err := chromedp.Run(tab.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tab.t.Fatalf("browsertest: evaluate: %v", err)
	}
	return v
}

// Cookies returns the cookies the browser would send to the tab's current
// page, HttpOnly ones included, with their flags (HTTPOnly, SameSite,
// Secure, Expires).
func (tab *Tab) Cookies() []*network.Cookie {
	tab.t.Helper()
	res, err := chromedp.Call(tab.ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		tab.t.Fatalf("browsertest: cookies: %v", err)
	}
	return res.Cookies
}

// Cookie returns the cookie named name from [Tab.Cookies], or nil.
func (tab *Tab) Cookie(name string) *network.Cookie {
	tab.t.Helper()
	for _, c := range tab.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// settle lets the page run the tasks it has queued (console messages and
// violation reports are posted as tasks) and makes a round trip through
// the renderer, so entries caused by what already happened have arrived.
func (tab *Tab) settle() {
	tab.t.Helper()
	_, err := chromedp.Run(tab.ctx, chromedp.Evaluate[bool](
		`new Promise(r => setTimeout(() => setTimeout(() => r(true))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		tab.t.Fatalf("browsertest: settle page: %v", err)
	}
	// The reply to the call above and the events before it arrive on the
	// same connection in order, and the listener has run for each event
	// before the reply is handed back.
}

// Console returns every entry the tab has recorded so far, after letting
// the page settle.
func (tab *Tab) Console() []Entry {
	tab.t.Helper()
	tab.settle()
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]Entry(nil), tab.entries...)
}

// ConsoleErrors returns the recorded entries of level error: console.error
// calls, uncaught exceptions, failed loads and CSP violations.
func (tab *Tab) ConsoleErrors() []Entry {
	tab.t.Helper()
	var out []Entry
	for _, e := range tab.Console() {
		if e.Level == "error" {
			out = append(out, e)
		}
	}
	return out
}

// CSPViolations returns the recorded Content Security Policy violations
// (the browser reports each as a log entry naming the policy).
func (tab *Tab) CSPViolations() []Entry {
	tab.t.Helper()
	var out []Entry
	for _, e := range tab.Console() {
		if isCSPViolation(e) {
			out = append(out, e)
		}
	}
	return out
}

// AssertNoCSPViolations fails the test for each CSP violation recorded.
func (tab *Tab) AssertNoCSPViolations() {
	tab.t.Helper()
	for _, e := range tab.CSPViolations() {
		tab.t.Errorf("CSP violation: %s", e)
	}
}

// AssertNoConsoleErrors fails the test for each error-level entry recorded.
func (tab *Tab) AssertNoConsoleErrors() {
	tab.t.Helper()
	for _, e := range tab.ConsoleErrors() {
		tab.t.Errorf("console error: %s", e)
	}
}

func isCSPViolation(e Entry) bool {
	return strings.Contains(e.Text, "Content Security Policy")
}

// cssEscape quotes s for use inside a double-quoted CSS attribute value.
func cssEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\%x `, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
