package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/cluster"
)

// serve answers a request with the handler.
func serve(h http.Handler, r *http.Request) (*http.Response, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// find returns the nodes under n that match.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if match(d) {
			out = append(out, d)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}

// text is the text under n, its spaces collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func byID(doc *html.Node, id string) *html.Node {
	nodes := find(doc, func(n *html.Node) bool { return attr(n, "id") == id })
	if len(nodes) == 0 {
		return nil
	}
	return nodes[0]
}

func element(a atom.Atom, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.DataAtom == a && (class == "" || hasClass(n, class))
	}
}

func svgElement(name, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Namespace == "svg" && n.Data == name && (class == "" || hasClass(n, class))
	}
}

// rows are the texts of the rows of a table's body.
func rows(table *html.Node) []string {
	var out []string
	if table == nil {
		return nil
	}
	for _, tr := range find(table, element(atom.Tr, "")) {
		if tr.Parent.DataAtom != atom.Tbody {
			continue
		}
		var cells []string
		for c := range tr.ChildNodes() {
			if c.Type == html.ElementNode {
				cells = append(cells, text(c))
			}
		}
		out = append(out, strings.Join(cells, " "))
	}
	return out
}

// TestHandlers asks for each page and checks its status, its type, and
// what it shows.
func TestHandlers(t *testing.T) {
	h := newTestServer(newFake()).Handler()
	const htmlType = "text/html; charset=utf-8"
	tests := []struct {
		path   string
		status int
		ctype  string
		check  func(t *testing.T, doc *html.Node, body string)
	}{
		{"/", 200, htmlType, func(t *testing.T, doc *html.Node, body string) {
			if title := text(find(doc, element(atom.Title, ""))[0]); title != "1 failed – sundial" {
				t.Errorf("title %q", title)
			}
			// Failed first: backup.timer, then tick.timer.
			got := rows(byID(doc, "timers"))
			want := []string{
				"Wed 2026-12-02 03:00:00 UTC 15h Tue 2026-12-01 03:00:00 UTC 9h ago backup.timer backup.service waiting failed (exit-code)",
				"- - Tue 2026-12-01 11:59:59 UTC 1s ago tick.timer tick.service running running",
			}
			if !slices.Equal(got, want) {
				t.Errorf("timers:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			tl := byID(doc, "timeline")
			if tl == nil {
				t.Fatal("no timeline")
			}
			bars := find(tl, svgElement("rect", "bar"))
			var classes []string
			for _, b := range bars {
				classes = append(classes, attr(b, "class"))
			}
			if want := []string{"bar ok", "bar fail", "bar ok", "bar run"}; !slices.Equal(classes, want) {
				t.Errorf("bars %q, want %q", classes, want)
			}
			if n := len(find(tl, svgElement("path", "cross"))); n != 1 {
				t.Errorf("%d failure crosses, want 1", n)
			}
			if n := len(find(tl, svgElement("path", "catch-up"))); n != 1 {
				t.Errorf("%d catch-up marks, want 1", n)
			}
			// backup.timer's next elapse, and its next of the window.
			if n := len(find(tl, svgElement("path", "next"))); n != 1 {
				t.Errorf("%d next elapses, want 1", n)
			}
			if z := text(find(doc, element(atom.Span, "zone"))[0]); z != "Times in UTC · now Tue 2026-12-01 12:00:00 UTC" {
				t.Errorf("zone: %q", z)
			}
			for _, a := range find(doc, element(atom.A, "")) {
				if strings.HasPrefix(attr(a, "href"), "/") {
					t.Errorf("link %q is not relative", attr(a, "href"))
				}
			}
		}},
		{"/?name=tick", 200, htmlType, func(t *testing.T, doc *html.Node, body string) {
			if got := rows(byID(doc, "timers")); len(got) != 1 || !strings.Contains(got[0], "tick.timer") {
				t.Errorf("timers %q", got)
			}
			if v := attr(find(doc, func(n *html.Node) bool { return attr(n, "name") == "name" })[0], "value"); v != "tick" {
				t.Errorf("the filter's name is %q", v)
			}
		}},
		{"/?state=failed", 200, htmlType, func(t *testing.T, doc *html.Node, body string) {
			if got := rows(byID(doc, "timers")); len(got) != 1 || !strings.Contains(got[0], "backup.timer") {
				t.Errorf("timers %q", got)
			}
		}},
		{"/?state=running", 200, htmlType, func(t *testing.T, doc *html.Node, body string) {
			if got := rows(byID(doc, "timers")); len(got) != 1 || !strings.Contains(got[0], "tick.timer") {
				t.Errorf("timers %q", got)
			}
		}},
		{"/?name=nothing", 200, htmlType, func(t *testing.T, doc *html.Node, body string) {
			if byID(doc, "timers") != nil || !strings.Contains(body, "No timers match the filter.") {
				t.Errorf("a filter that matches nothing: %s", body)
			}
		}},
		{"/unit/backup.timer", 200, htmlType, func(t *testing.T, doc *html.Node, body string) {
			if a := text(byID(doc, "active")); a != "active (waiting)" {
				t.Errorf("active %q", a)
			}
			want := []string{"Tue 2026-12-01 03:00:00 UTC 5min exit-code code=exited, status=2 backup.timer (OnCalendar)",
				"Mon 2026-11-30 16:00:00 UTC 10min success code=exited, status=0 backup.timer (OnCalendar (catch-up))"}
			if got := rows(byID(doc, "runs")); !slices.Equal(got, want) {
				t.Errorf("runs:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			if n := len(find(byID(doc, "trend"), svgElement("rect", "bar"))); n != 2 {
				t.Errorf("%d bars in the trend, want 2", n)
			}
			if pre := text(find(doc, element(atom.Pre, ""))[0]); !strings.Contains(pre, "OnCalendar=*-*-* 03:00") {
				t.Errorf("unit file %q", pre)
			}
			var actions []string
			for _, b := range find(doc, element(atom.Button, "")) {
				actions = append(actions, attr(b, "formaction"))
			}
			if want := []string{"../unit/backup.timer/trigger", "../unit/backup.timer/skip", "../unit/backup.timer/start", "../unit/backup.timer/stop"}; !slices.Equal(actions, want) {
				t.Errorf("actions %q, want %q", actions, want)
			}
			if len(find(doc, func(n *html.Node) bool { return attr(n, "name") == "token" })) != 1 {
				t.Error("no token field for a client that is not trusted")
			}
		}},
		{"/unit/nope.service", 404, htmlType, nil},
		{"/run/2", 200, htmlType, func(t *testing.T, doc *html.Node, body string) {
			if r := text(byID(doc, "result")); r != "exit-code" || !hasClass(byID(doc, "result"), "fail") {
				t.Errorf("result %q", r)
			}
			got := rows(byID(doc, "journal"))
			if len(got) != 3 || got[1] != "03:01:00.000000 backup[99] <script>alert(1)</script> disk full" {
				t.Errorf("journal %q", got)
			}
			if strings.Contains(body, "<script>alert") || attr(byID(doc, "journal"), "data-follow") != "" {
				t.Errorf("a line unescaped, or an ended run followed: %s", body)
			}
		}},
		{"/run/4", 200, htmlType, func(t *testing.T, doc *html.Node, body string) {
			j := byID(doc, "journal")
			if attr(j, "data-follow") != "4/lines" || attr(j, "data-after") != "13" {
				t.Errorf("journal of a run that runs: %s", body)
			}
			if s := find(doc, element(atom.Script, "")); len(s) != 1 || attr(s[0], "src") != "../static/follow.js" {
				t.Errorf("scripts %v", s)
			}
		}},
		{"/run/4/lines?after=12", 200, "application/json", func(t *testing.T, doc *html.Node, body string) {
			var got struct {
				Ended bool
				Lines []line
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || got.Ended || len(got.Lines) != 1 || got.Lines[0].Message != "tick" {
				t.Errorf("lines %s (%v)", body, err)
			}
		}},
		{"/run/99", 404, htmlType, nil},
		{"/run/x", 404, htmlType, nil},
		{"/badge/backup.timer.svg", 200, "image/svg+xml", func(t *testing.T, doc *html.Node, body string) {
			if !strings.Contains(body, "backup.timer: ✗ failed") {
				t.Errorf("badge %s", body)
			}
		}},
		{"/badge/tick.service.svg", 200, "image/svg+xml", func(t *testing.T, doc *html.Node, body string) {
			if !strings.Contains(body, "tick.service: ● running") {
				t.Errorf("badge %s", body)
			}
		}},
		{"/badge/nope.svg", 404, htmlType, nil},
		{"/badge/backup.timer.png", 404, htmlType, nil},
		{"/static/style.css", 200, "text/css; charset=utf-8", nil},
		{"/static/follow.js", 200, "text/javascript; charset=utf-8", nil},
		{"/<script>", 404, htmlType, func(t *testing.T, doc *html.Node, body string) {
			if strings.Contains(body, "<script>") {
				t.Errorf("the path unescaped: %s", body)
			}
		}},
		{"/healthz", 200, "text/plain; charset=utf-8", nil},
		{"/readyz", 200, "text/plain; charset=utf-8", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			target := tt.path
			if strings.Contains(target, "<") {
				target = "/" + url.PathEscape(target[1:])
			}
			resp, body := serve(h, httptest.NewRequest("GET", target, nil))
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.ctype {
				t.Fatalf("GET %s: %d %q, want %d %q\n%s", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.ctype, body)
			}
			if strings.HasPrefix(tt.ctype, "text/html") && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no nosniff", tt.path)
			}
			if tt.check == nil {
				return
			}
			doc, err := html.Parse(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, doc, body)
		})
	}
}

// TestHealth checks the health endpoints of a daemon that does not
// answer, and of one whose store cannot be written.
func TestHealth(t *testing.T) {
	f := newFake()
	h := newTestServer(f).Handler()
	f.snap.StoreWritable = false
	if resp, body := serve(h, httptest.NewRequest("GET", "/readyz", nil)); resp.StatusCode != 503 || body != "not ok: the store cannot be written\n" {
		t.Errorf("/readyz, store full: %d %q", resp.StatusCode, body)
	}
	if resp, _ := serve(h, httptest.NewRequest("GET", "/healthz", nil)); resp.StatusCode != 200 {
		t.Errorf("/healthz, store full: %d", resp.StatusCode)
	}
	f.err = context.DeadlineExceeded
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := serve(h, httptest.NewRequest("GET", path, nil)); resp.StatusCode != 503 || body != "not ok: context deadline exceeded\n" {
			t.Errorf("%s, no answer: %d %q", path, resp.StatusCode, body)
		}
	}
	if resp, _ := serve(h, httptest.NewRequest("GET", "/", nil)); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("/, no answer: %d", resp.StatusCode)
	}
}

// TestReadyzCluster checks the readiness of a node of a cluster: ready
// once it has joined, its etcd endpoint is healthy and a leader of the
// cluster's timers is known, and else not, saying what is missing.
func TestReadyzCluster(t *testing.T) {
	noRaft := leading()
	noRaft.Health = cluster.Health{Leader: "b", Nodes: 1, Problems: []string{"etcd has no Raft leader"}}
	noLeader := leading()
	noLeader.Health = cluster.Health{Healthy: true, Nodes: 3, Problems: []string{"no node leads the cluster's timers"}}
	unreachable := leading()
	unreachable.Health = cluster.Health{Problems: []string{"http://127.0.0.1:2379: context deadline exceeded"}}
	for _, tc := range []struct {
		name   string
		report cluster.Report
		status int
		body   string
	}{
		{"leading", leading(), 200, "ok\n"},
		{"not joined", unjoined(), 503, "not ok: the daemon has not joined its cluster yet\n"},
		{"no quorum", noRaft, 503, "not ok: the cluster: etcd has no Raft leader\n"},
		{"no leader", noLeader, 503, "not ok: the cluster: no node leads the cluster's timers\n"},
		{"unreachable", unreachable, 503, "not ok: the cluster: http://127.0.0.1:2379: context deadline exceeded\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(newFake())
			s.Cluster = &fakeCluster{r: tc.report}
			if resp, body := serve(s.Handler(), httptest.NewRequest("GET", "/readyz", nil)); resp.StatusCode != tc.status || body != tc.body {
				t.Errorf("/readyz: %d %q; want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
}

// TestActions checks who may act: a client with the token, in a header
// or a form from the page itself; not one without it, nor a form posted
// from another site.
func TestActions(t *testing.T) {
	form := func(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
	tests := []struct {
		name     string
		path     string
		header   map[string]string
		body     io.Reader
		status   int
		location string
		acted    []string
	}{
		{"no token", "/unit/backup.timer/trigger", nil, nil, 403, "", nil},
		{"wrong token", "/unit/backup.timer/trigger", map[string]string{TokenHeader: "guess"}, nil, 403, "", nil},
		{"token header", "/unit/backup.timer/trigger", map[string]string{TokenHeader: "secret"}, nil, 204, "", []string{"start backup.service"}},
		{"token form", "/unit/backup.service/stop", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"},
			form(url.Values{"token": {"secret"}}), 303, "../backup.service", []string{"stop backup.service"}},
		{"cross-site form", "/unit/backup.service/stop", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"},
			form(url.Values{"token": {"secret"}}), 403, "", nil},
		{"skip", "/unit/backup.timer/skip", map[string]string{TokenHeader: "secret"}, nil, 204, "", []string{"skip backup.timer"}},
		{"unknown verb", "/unit/backup.service/kill", map[string]string{TokenHeader: "secret"}, nil, 404, "", nil},
		{"not a timer", "/unit/backup.service/trigger", map[string]string{TokenHeader: "secret"}, nil, 404, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			h := newTestServer(f).Handler()
			r := httptest.NewRequest("POST", tt.path, tt.body)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			resp, body := serve(h, r)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Errorf("POST %s: %d %q, want %d %q\n%s", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location, body)
			}
			if got := f.actions(); !slices.Equal(got, tt.acted) {
				t.Errorf("acted %q, want %q", got, tt.acted)
			}
		})
	}
	// A GET acts on nothing.
	f := newFake()
	if resp, _ := serve(newTestServer(f).Handler(), httptest.NewRequest("GET", "/unit/backup.service/stop", nil)); resp.StatusCode != 404 || len(f.actions()) > 0 {
		t.Errorf("GET of an action: %d, acted %q", resp.StatusCode, f.actions())
	}
}

// TestUnixSocket serves on a Unix socket: the daemon's user acts without
// the token, and its pages offer no token field.
func TestUnixSocket(t *testing.T) {
	f := newFake()
	s := newTestServer(f)
	s.Token = ""
	path := filepath.Join(t.TempDir(), "web")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, l) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	defer c.CloseIdleConnections()
	resp, err := c.Post("http://sundial/unit/backup.timer/trigger", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || !slices.Equal(f.actions(), []string{"start backup.service"}) {
		t.Errorf("POST over the Unix socket: %d, acted %q", resp.StatusCode, f.actions())
	}
	// The page's form, sent by a browser through a proxy of the
	// daemon's user: back to the unit's page.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = c.PostForm("http://sundial/unit/backup.service/stop", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "../backup.service" {
		t.Errorf("form over the Unix socket: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Get("http://sundial/unit/backup.timer")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), `name="token"`) {
		t.Error("a token field for the daemon's user")
	}
}

// TestTemplateFields executes every page with a view of its type whose
// every field is set and every list has an element: a field a template
// names that its view lacks fails.
func TestTemplateFields(t *testing.T) {
	views := map[string]any{"index": indexView{}, "unit": unitView{}, "run": runView{}, "error": errorView{}, "badge": badgeView{}}
	for name, tmpl := range pages {
		v, ok := views[name]
		if !ok {
			t.Errorf("no view for the page %s", name)
			continue
		}
		filled := reflect.New(reflect.TypeOf(v)).Elem()
		fill(filled)
		var err error
		if name == "badge" {
			err = tmpl.Execute(io.Discard, filled.Interface())
		} else {
			err = tmpl.ExecuteTemplate(io.Discard, "page", filled.Interface())
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// fill sets every field of v, and gives every slice an element.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1)
	}
}

// TestZone checks that every page shows its times in the daemon's zone,
// as the main page does, not the process's.
func TestZone(t *testing.T) {
	f := newFake()
	zone := time.FixedZone("XST", 3*3600)
	f.snap.Now = f.snap.Now.In(zone)
	for i := range f.snap.Timers {
		f.snap.Timers[i].Next, f.snap.Timers[i].LastTrigger = f.snap.Timers[i].Next.In(zone), f.snap.Timers[i].LastTrigger.In(zone)
	}
	h := newTestServer(f).Handler()
	for _, path := range []string{"/", "/unit/backup.timer", "/run/2", "/no-such-page"} {
		_, body := serve(h, httptest.NewRequest("GET", path, nil))
		doc, err := html.Parse(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if z := text(find(doc, element(atom.Span, "zone"))[0]); z != "Times in XST · now Tue 2026-12-01 15:00:00 XST" {
			t.Errorf("%s: zone: %q", path, z)
		}
		if strings.Contains(body, " UTC") {
			t.Errorf("%s shows a time in UTC", path)
		}
	}
	// The journal's lines, by the time of day only.
	if _, body := serve(h, httptest.NewRequest("GET", "/run/2", nil)); !strings.Contains(body, ">06:01:00.000000<") {
		t.Errorf("/run/2 shows no line at 06:01:00 XST")
	}
}

// TestUnitNames asks for the pages and badges of names that are not
// the daemon's loaded timers and services: a path out of the unit
// directories, markup, a unit on disk not loaded. Each is not found,
// and the daemon is not asked to load it.
func TestUnitNames(t *testing.T) {
	f := newFake()
	h := newTestServer(f).Handler()
	for _, name := range []string{"..%2F..%2Fetc%2Fpasswd", "..%2Fbackup.timer", "%2E%2E", "a%3Cscript%3E.service",
		"other.service", "other-%5Cx2d.timer", "backup.timer%00", "%0A.service"} {
		for _, path := range []string{"/unit/" + name, "/badge/" + name + ".svg"} {
			resp, body := serve(h, httptest.NewRequest("GET", path, nil))
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("GET %s: the name is not escaped", path)
			}
		}
	}
	if len(f.loaded) > 0 {
		t.Errorf("the daemon was asked for %q", f.loaded)
	}
	// A name with an escape, loaded, has its page and badge.
	f = newFake()
	f.snap.Timers[1].Name = `tick-\x2dx.timer`
	f.units[`tick-\x2dx.timer`] = api.Unit{Name: `tick-\x2dx.timer`, Load: "loaded", Active: "active", Sub: "waiting", Result: "success"}
	h = newTestServer(f).Handler()
	for _, path := range []string{"/unit/tick-%5Cx2dx.timer", "/badge/tick-%5Cx2dx.timer.svg"} {
		if resp, _ := serve(h, httptest.NewRequest("GET", path, nil)); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
	}
}

// TestSkipNote checks that a timer's page says that a skip does not
// outlive the daemon, and a service's has nothing to skip.
func TestSkipNote(t *testing.T) {
	h := newTestServer(newFake()).Handler()
	for path, want := range map[string]bool{"/unit/backup.timer": true, "/unit/backup.service": false} {
		_, body := serve(h, httptest.NewRequest("GET", path, nil))
		doc, err := html.Parse(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		note := byID(doc, "skip-note")
		if (note != nil) != want || note != nil && !strings.Contains(text(note), "a restart of the daemon forgets it") {
			t.Errorf("%s: the note on skipping: %v, want %v", path, note != nil, want)
		}
	}
}

// TestClusterRuns checks that the page of a cluster timer on one node
// lists the runs of every node with their node, those of the others
// without a link to a page of theirs, whose journal is on their node.
func TestClusterRuns(t *testing.T) {
	f := newFake()
	f.node = "a"
	at := func(d time.Duration) uint64 { return µs(pinned.Add(d)) }
	f.remote = []api.Run{
		{Unit: "backup.service", Timer: "backup.timer", Reason: "OnCalendar", Invocation: "e5", Started: at(-15 * time.Hour),
			Ended: at(-15*time.Hour + time.Minute), State: "ended", Result: "success", ExitCode: "exited", Node: "b"},
		{Unit: "backup.service", Timer: "backup.timer", Reason: "OnCalendar", Invocation: "f6", Started: at(-3 * time.Hour),
			Ended: at(-2 * time.Hour), State: "node-lost", Node: "c"},
	}
	_, body := serve(newTestServer(f).Handler(), httptest.NewRequest("GET", "/unit/backup.timer", nil))
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Tue 2026-12-01 09:00:00 UTC c 1h node-lost  backup.timer (OnCalendar)",
		"Tue 2026-12-01 03:00:00 UTC a 5min exit-code code=exited, status=2 backup.timer (OnCalendar)",
		"Mon 2026-11-30 21:00:00 UTC b 1min success code=exited, status=0 backup.timer (OnCalendar)",
		"Mon 2026-11-30 16:00:00 UTC a 10min success code=exited, status=0 backup.timer (OnCalendar (catch-up))"}
	if got := rows(byID(doc, "runs")); !slices.Equal(got, want) {
		t.Errorf("runs:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	var links []string
	for _, a := range find(byID(doc, "runs"), element(atom.A, "")) {
		links = append(links, attr(a, "href"))
	}
	if want := []string{"../run/2", "../run/1"}; !slices.Equal(links, want) {
		t.Errorf("the runs' links %q, want %q: this node's alone", links, want)
	}
	if bars, links := find(byID(doc, "trend"), svgElement("rect", "bar")), find(byID(doc, "trend"), svgElement("a", "")); len(bars) != 4 || len(links) != 2 {
		t.Errorf("%d bars in the trend, %d of them links; want 4, this node's 2", len(bars), len(links))
	}
}

// TestMethods checks that a path is answered 405, with the methods it
// takes, for a method it does not take, and HEAD as GET.
func TestMethods(t *testing.T) {
	h := newTestServer(newFake()).Handler()
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/metrics", 405, "GET, HEAD"},
		{"DELETE", "/unit/backup.timer", 405, "GET, HEAD"},
		{"PUT", "/", 405, "GET, HEAD"},
		{"GET", "/unit/backup.timer/start", 404, ""},
		{"PUT", "/unit/backup.timer/start", 405, "GET, HEAD, POST"}, // GET: the page not found
		{"HEAD", "/", 200, ""},
		{"HEAD", "/metrics", 200, ""},
		{"HEAD", "/no-such-page", 404, ""},
	}
	for _, tt := range tests {
		resp, _ := serve(h, httptest.NewRequest(tt.method, tt.path, nil))
		if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), tt.status, tt.allow)
		}
	}
}

// TestListenUnix: the socket appears open to all, replaces one left by
// an earlier run, is removed when the listener closes, and never takes
// the place of a file that is not a socket.
func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "web.sock")
	for range 2 { // the second over the first's leftover
		l, err := Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o666 {
			t.Fatalf("socket %v, %v", fi, err)
		}
		if names, _ := os.ReadDir(dir); len(names) != 1 {
			t.Errorf("left beside it: %v", names)
		}
		ul := l.(*unixListener)
		ul.UnixListener.Close() // as a killed daemon leaves it
	}
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("after Close: %v", err)
	}
	file := filepath.Join(dir, "data")
	os.WriteFile(file, []byte("keep"), 0o600)
	if l, err := Listen(file); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Listen over a file: %v, %v", l, err)
	}
	if data, _ := os.ReadFile(file); string(data) != "keep" {
		t.Errorf("the file became %q", data)
	}
}
