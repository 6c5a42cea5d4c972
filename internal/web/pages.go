package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/unit"
)

//go:embed templates static
var files embed.FS

// pages are the templates, each page a set of its own with the layout,
// parsed at init: a broken template stops the daemon from starting.
var pages = map[string]*template.Template{}

func init() {
	for _, name := range []string{"index", "unit", "run", "error"} {
		pages[name] = template.Must(template.ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
	}
	pages["badge"] = template.Must(template.ParseFS(files, "templates/badge.svg"))
}

// An httpError is an error with the status to answer and the message to
// show; err, if set, is logged, not shown.
type httpError struct {
	code int
	msg  string
	err  error
}

func (e *httpError) Error() string { return e.msg }

// handle serves a page that a handler renders, or an error page.
func (s *Server) handle(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		he, ok := errors.AsType[*httpError](err)
		if !ok {
			he = &httpError{code: http.StatusInternalServerError, msg: "The daemon could not answer.", err: err}
		}
		if he.err != nil {
			s.logger().Error("web: "+r.Method+" "+r.URL.Path, "err", he.err)
		}
		if he.code == http.StatusServiceUnavailable || errors.Is(he.err, context.DeadlineExceeded) {
			w.Header().Set("Retry-After", "5")
		}
		root := rootOf(r.URL.Path)
		var buf bytes.Buffer
		if err := pages["error"].ExecuteTemplate(&buf, "page", errorView{newBase(http.StatusText(he.code), root, s.now(r.Context())), he.code, he.msg}); err != nil {
			s.logger().Error("web: rendering the error page", "err", err)
			http.Error(w, he.msg, he.code)
			return
		}
		writePage(w, he.code, "text/html; charset=utf-8", &buf)
	}
}

type errorView struct {
	basePage
	Code    int
	Message string
}

// rootOf is the relative path from a page to the root.
func rootOf(path string) string {
	depth := strings.Count(strings.TrimPrefix(path, "/"), "/")
	if depth == 0 {
		return "./"
	}
	return strings.Repeat("../", depth)
}

// render renders a page to a buffer, then sends it.
func render(w http.ResponseWriter, name string, view any) error {
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "page", view); err != nil {
		return err
	}
	writePage(w, http.StatusOK, "text/html; charset=utf-8", &buf)
	return nil
}

// historyRuns bounds the runs a timeline reads: a day of its timers
// every five seconds.
const historyRuns = maxTimelineRows * 24 * 720

func (s *Server) pages(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.handle(s.index))
	mux.HandleFunc("GET /unit/{name}", s.handle(s.unit))
	// Forms posted from other sites are refused (Sec-Fetch-Site,
	// Origin): a browser's user who may act is not made to by another
	// page.
	mux.Handle("POST /unit/{name}/{verb}", http.NewCrossOriginProtection().Handler(s.handle(s.act)))
	mux.HandleFunc("GET /run/{id}", s.handle(s.run))
	mux.HandleFunc("GET /run/{id}/lines", s.handle(s.runLines))
	mux.HandleFunc("GET /badge/{file}", s.handle(s.badge))
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	// Not found, for GET and HEAD only: a path served for other methods
	// is answered 405 with the methods it takes, by the mux.
	mux.HandleFunc("GET /", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{code: http.StatusNotFound, msg: "No such page."}
	}))
}

// unavailable is the error of a source that did not answer.
func unavailable(err error) error {
	return &httpError{code: http.StatusServiceUnavailable, msg: "The daemon is not ready: " + err.Error(), err: err}
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	snap, err := s.Source.Snapshot(r.Context())
	if err != nil {
		return unavailable(err)
	}
	q := r.URL.Query()
	v, units := newIndex(snap, filter{name: q.Get("name"), state: q.Get("state")})
	var runs []store.Run
	if len(units) > 0 { // none is all
		since := uint64(snap.Now.Add(-tlWindow).UnixMicro())
		if runs, err = s.Source.History(r.Context(), units, since, historyRuns); err != nil {
			return err
		}
	}
	v.Timeline = newTimeline(v.timelineTimers, runs, snap.Now, "./")
	if v.Failed > 0 {
		v.Title = fmt.Sprintf("%d failed – sundial", v.Failed)
	}
	return render(w, "index", v)
}

type unitView struct {
	basePage
	Name, Description string
	Active, Sub       string
	Load, Result      string
	FileState         string
	Class             string // the state's class: ok, fail, run, none
	IsTimer           bool
	Service           string // a timer's
	ServiceHref       string
	Next              string // a timer's
	Runs              []runRow
	Nodes             bool // the runs are of a cluster's nodes
	Trend             trend
	Files             []unitFile
	Actions           []action
	NeedToken         bool // acting needs the token
}

type unitFile struct{ Path, Text string }

type action struct{ Verb, Label, Href string }

// unitRuns is how many runs a unit's page lists.
const unitRuns = 50

// shown checks the name of a unit whose page or badge is asked for: a
// unit name (no slash, no "..", nothing but what unit_name_is_valid()
// takes), of a timer or service the daemon has loaded, which the page
// lists. Reading is open to all: a reader does not make the daemon load
// a unit from disk, or remember one it could not find, as asking its
// status would.
func (s *Server) shown(ctx context.Context, name string) error {
	if !unit.ValidName(name, unit.Plain|unit.Instance) {
		return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("%q is not a unit's name.", name)}
	}
	snap, err := s.Source.Snapshot(ctx)
	if err != nil {
		return unavailable(err)
	}
	_, timer := slices.BinarySearchFunc(snap.Timers, name, func(t manager.TimerStatus, name string) int { return strings.Compare(t.Name, name) })
	_, service := slices.BinarySearchFunc(snap.Services, name, func(sv manager.ServiceStatus, name string) int {
		return strings.Compare(sv.Name, name)
	})
	if !timer && !service {
		return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("Unit %s is not a timer or service the daemon has loaded.", name)}
	}
	return nil
}

func (s *Server) unit(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := s.shown(r.Context(), name); err != nil {
		return err
	}
	st, err := s.Source.Status(r.Context(), name)
	if err != nil {
		return &httpError{code: http.StatusNotFound, msg: err.Error()}
	}
	if st.Load == "not-found" {
		return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("Unit %s not found.", name)}
	}
	now := s.now(r.Context())
	v := unitView{basePage: newBase(st.Name+" – sundial", "../", now), Name: st.Name, Description: st.Description,
		Active: st.Active, Sub: st.Sub, Load: st.Load, Result: st.Result, FileState: st.FileState, NeedToken: !s.mayAct(r)}
	v.Class = stateClass(st.Active)
	self := "../unit/" + url.PathEscape(st.Name) + "/"
	runsOf := st.Name
	if strings.HasSuffix(st.Name, ".timer") {
		v.IsTimer = true
		if len(st.Triggers) > 0 {
			v.Service, v.ServiceHref, runsOf = st.Triggers[0].Name, unitHref("../", st.Triggers[0].Name), st.Triggers[0].Name
		}
		v.Next = "-"
		if st.NextElapse != 0 {
			v.Next = formatTime(time.UnixMicro(int64(st.NextElapse)).In(now.Location()))
		}
		v.Actions = append(v.Actions, action{"trigger", "Trigger now", self + "trigger"}, action{"skip", "Skip the next elapse", self + "skip"})
	}
	v.Actions = append(v.Actions, action{"start", "Start", self + "start"}, action{"stop", "Stop", self + "stop"})
	runs, err := s.Source.Runs(r.Context(), runsOf, unitRuns)
	if err != nil {
		return err
	}
	stored := make([]store.Run, len(runs))
	for i, run := range runs {
		stored[i] = storedRun(run)
		v.Nodes = v.Nodes || run.Node != ""
	}
	for i := len(runs) - 1; i >= 0; i-- {
		row := newRunRow(stored[i], now, "../")
		row.Node = runs[i].Node
		v.Runs = append(v.Runs, row)
	}
	v.Trend = newTrend(stored, now, "../")
	unitFiles, err := s.Source.UnitFiles(r.Context(), st.Name)
	if err == nil {
		for _, f := range unitFiles {
			v.Files = append(v.Files, unitFile{f[0], f[1]})
		}
	}
	return render(w, "unit", v)
}

func stateClass(active string) string {
	switch active {
	case "active":
		return "ok"
	case "failed":
		return "fail"
	case "activating", "deactivating":
		return "run"
	}
	return "none"
}

// act does what a page's button asks: start or stop a unit, trigger a
// timer (start its unit) or skip its next elapse, for a client that may.
func (s *Server) act(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !s.mayAct(r) {
		return &httpError{code: http.StatusForbidden, msg: "Only the daemon's user may act: connect over its Unix socket, or give the token."}
	}
	name, verb := r.PathValue("name"), r.PathValue("verb")
	target := name
	switch verb {
	case "start", "stop", "skip":
	case "trigger":
		st, err := s.Source.Status(r.Context(), name)
		if err != nil || len(st.Triggers) == 0 {
			return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("%s triggers no unit.", name)}
		}
		target, verb = st.Triggers[0].Name, "start"
	default:
		return &httpError{code: http.StatusNotFound, msg: "No such action."}
	}
	if err := s.Source.Act(r.Context(), verb, target); err != nil {
		return &httpError{code: http.StatusConflict, msg: err.Error()}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") && !strings.HasPrefix(ct, "multipart/form-data") {
		// Not a form of the page's: a program, with no page to go back to.
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	// Relative, as every link: the page works under any prefix.
	w.Header().Set("Location", "../"+url.PathEscape(name))
	w.WriteHeader(http.StatusSeeOther)
	return nil
}

type runView struct {
	basePage
	Run        runRow
	Invocation string
	Running    bool
	Lines      []line
	After      int64  // the last line's cursor
	Follow     string // where the script asks for more lines; "" when ended
}

type line struct {
	Cursor   int64  `json:"cursor"`
	Time     string `json:"time"`
	Ident    string `json:"ident"`
	PID      int    `json:"pid"`
	Message  string `json:"message"`
	Priority string `json:"priority"` // a class: err, warn, info
}

func (s *Server) runOf(r *http.Request) (store.Run, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.Run{}, &httpError{code: http.StatusNotFound, msg: "No such run."}
	}
	run, err := s.Source.HistoryRun(r.Context(), id)
	if err != nil {
		return store.Run{}, &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("No run %d in the history.", id)}
	}
	return run, nil
}

// runJournal is the journal of a run: its invocation's lines, after a
// cursor.
func (s *Server) runJournal(ctx context.Context, run store.Run, after int64) ([]line, error) {
	entries, err := s.Source.Journal(ctx, store.Filter{Units: []string{run.Unit}, Since: run.Started, Until: run.Ended, After: after})
	if err != nil {
		return nil, err
	}
	var out []line
	zone := s.zone(ctx)
	for _, e := range entries {
		if run.Invocation != "" && e.Invocation != run.Invocation {
			continue
		}
		out = append(out, line{Cursor: e.Seq, Time: time.UnixMicro(int64(e.Realtime)).In(zone).Format("15:04:05.000000"),
			Ident: e.Identifier, PID: e.PID, Message: e.Message, Priority: priorityClass(e.Priority)})
	}
	return out, nil
}

func priorityClass(p int) string {
	switch {
	case p <= 3:
		return "err"
	case p == 4:
		return "warn"
	}
	return "info"
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) error {
	run, err := s.runOf(r)
	if err != nil {
		return err
	}
	now := s.now(r.Context())
	v := runView{basePage: newBase(fmt.Sprintf("Run %d of %s – sundial", run.ID, run.Unit), "../", now),
		Run: newRunRow(run, now, "../"), Invocation: run.Invocation, Running: run.State == store.RunRunning}
	if v.Lines, err = s.runJournal(r.Context(), run, 0); err != nil {
		return err
	}
	if n := len(v.Lines); n > 0 {
		v.After = v.Lines[n-1].Cursor
	}
	if v.Running {
		v.Follow = strconv.FormatInt(run.ID, 10) + "/lines"
	}
	return render(w, "run", v)
}

// runLines answers the script that follows a run: its lines after a
// cursor, and whether it ended.
func (s *Server) runLines(w http.ResponseWriter, r *http.Request) error {
	run, err := s.runOf(r)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	lines, err := s.runJournal(r.Context(), run, after)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(struct {
		Ended bool   `json:"ended"`
		Lines []line `json:"lines"`
	}{run.State != store.RunRunning, lines}); err != nil {
		return err
	}
	writePage(w, http.StatusOK, "application/json", &buf)
	return nil
}

type badgeView struct {
	Label, Message string
	Class          string
	Width, Split   int
	LabelX, TextX  float64
}

// badge is a unit's state as a small image: its last run's outcome,
// in words and with a sign, not by colour alone.
func (s *Server) badge(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".svg")
	if !ok {
		return &httpError{code: http.StatusNotFound, msg: "No such badge."}
	}
	if err := s.shown(r.Context(), name); err != nil {
		return err
	}
	st, err := s.Source.Status(r.Context(), name)
	if err == nil && len(st.Triggers) > 0 {
		st, err = s.Source.Status(r.Context(), st.Triggers[0].Name)
	}
	if err != nil || st.Load == "not-found" {
		return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("Unit %s not found.", name)}
	}
	v := badgeView{Label: name}
	switch {
	case st.Active == "failed":
		v.Message, v.Class = "✗ failed", "fail"
	case st.Active == "activating" || st.Active == "deactivating" || st.Active == "active" && st.Sub == "running":
		v.Message, v.Class = "● running", "run"
	case st.Result == "success":
		v.Message, v.Class = "✓ passing", "ok"
	default:
		v.Message, v.Class = "✗ "+st.Result, "fail"
	}
	// Text width by a fixed advance: Verdana's at 11px is near 7.
	lw, mw := 7*len([]rune(v.Label))+10, 7*len([]rune(v.Message))+10
	v.Width, v.Split = lw+mw, lw
	v.LabelX, v.TextX = float64(lw)/2, float64(lw)+float64(mw)/2
	var buf bytes.Buffer
	if err := pages["badge"].Execute(&buf, v); err != nil {
		return err
	}
	writePage(w, http.StatusOK, "image/svg+xml", &buf)
	return nil
}
