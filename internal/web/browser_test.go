package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/oracle"
	"sundial.dev/sundial/internal/store"
)

// browsers are the names Chromium goes by, Debian's first.
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// browser is the one Chromium of the test binary, started by the first
// test that needs it and stopped by TestMain.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// newTab opens a tab of the browser, or skips the test where there is
// no browser (unless the environment requires one, as CI's does). The
// test fails on any exception the page's scripts throw and any error
// the console or the browser's log tells.
func newTab(t *testing.T) (context.Context, func()) {
	t.Helper()
	path := ""
	for _, name := range browsers {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		path = oracle.Tool(t, browsers[0]) // skips, or fails where required
	}
	browser.once.Do(func() {
		opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(1200, 900),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true)}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelBrowser := chromedp.NewContext(alloc)
		browser.ctx, browser.cancel = ctx, func() { cancelBrowser(); cancelAlloc() }
		browser.err = chromedp.Do(ctx) // starts it
	})
	if browser.err != nil {
		t.Fatalf("starting %s: %v", path, browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx)
	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(ctx, func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			p = fmt.Sprintf("exception: %s %s:%d", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value))
				}
				p = "console error: " + strings.Join(args, " ")
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				p = "log error: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, enable(cdplog.Enable), enable(runtime.Enable)); err != nil {
		t.Fatal(err)
	}
	return ctx, func() {
		cancel()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Error(p)
		}
	}
}

// enable turns a domain's events on.
func enable(c cdp.Command[cdp.Empty, cdp.Empty]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, c, cdp.Empty{})
		return err
	})
}

// eval evaluates a JavaScript expression into v.
func eval[T any](ctx context.Context, expr string, v *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		*v, err = chromedp.Evaluate[T](expr)(ctx, t)
		return err
	})
}

// TestBrowser opens the page in Chromium and checks what a person sees:
// the timers, the failed run marked apart from the others not by colour
// alone, the timeline drawn; then a run that runs, whose journal the
// page follows.
func TestBrowser(t *testing.T) {
	f := newFake()
	srv := httptest.NewServer(newTestServer(f).Handler())
	defer srv.Close()
	ctx, done := newTab(t)
	defer done()

	var timers []string
	var bars, failBars, crosses, marks int
	var timelineWidth float64
	var failFill, okFill, failedRow, failedSign string
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("timeline")),
		eval(ctx, `[...document.querySelectorAll("#timers tbody tr td:nth-child(5)")].map(td => td.innerText)`, &timers),
		eval(ctx, `document.querySelectorAll("#timeline rect.bar").length`, &bars),
		eval(ctx, `document.querySelectorAll("#timeline rect.bar.fail").length`, &failBars),
		eval(ctx, `document.querySelectorAll("#timeline path.cross").length`, &crosses),
		eval(ctx, `document.querySelectorAll("#timeline path.next").length`, &marks),
		eval(ctx, `document.querySelector("#timeline").getBoundingClientRect().width`, &timelineWidth),
		eval(ctx, `getComputedStyle(document.querySelector("#timeline rect.bar.fail")).fill`, &failFill),
		eval(ctx, `getComputedStyle(document.querySelector("#timeline rect.bar.ok")).fill`, &okFill),
		eval(ctx, `document.querySelector("#timers tr.fail td.result").innerText`, &failedRow),
		eval(ctx, `getComputedStyle(document.querySelector("#timers tr.fail td.result"), "::before").content`, &failedSign),
	)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(timers, ",") != "backup.timer,tick.timer" {
		t.Errorf("timers shown: %q", timers)
	}
	if bars != 4 || failBars != 1 || crosses != 1 || marks != 1 || timelineWidth < 500 {
		t.Errorf("timeline: %d bars, %d failed, %d crosses, %d marks, %g px wide", bars, failBars, crosses, marks, timelineWidth)
	}
	// A failure is hatched, a success solid: apart without colour.
	if !strings.HasPrefix(failFill, "url(") || strings.HasPrefix(okFill, "url(") {
		t.Errorf("fills: failure %q, success %q", failFill, okFill)
	}
	if failedRow != "failed (exit-code)" || failedSign != `"✗ "` {
		t.Errorf("the failed timer's last run: %q, with %s before", failedRow, failedSign)
	}

	// The page of a run that runs shows a line logged after it loaded.
	var before int
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/run/4"),
		chromedp.WaitVisible(chromedp.ID("journal")),
		eval(ctx, `document.querySelectorAll("#journal tbody tr").length`, &before),
	); err != nil {
		t.Fatal(err)
	}
	f.log(store.Entry{Seq: 14, Realtime: µs(pinned), Unit: "tick.service", Invocation: "d4", PID: 100, Identifier: "tick", Priority: 6, Message: "tock"})
	if before != 1 {
		t.Errorf("journal: %d lines, want 1", before)
	}
	await.Until(t, func() bool {
		var shown bool
		err := chromedp.Do(ctx, eval(ctx, `[...document.querySelectorAll("#journal td")].some(td => td.innerText == "tock")`, &shown))
		if err != nil {
			t.Fatal(err)
		}
		return shown
	}, "the line logged after the page loaded, shown")
}
