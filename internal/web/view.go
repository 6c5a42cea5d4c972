package web

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/timespan"
)

// The views are what the templates show, built from a snapshot and the
// time: every string formatted, every coordinate computed, here.

// A basePage is what every page has.
type basePage struct {
	Title string
	Root  string // the relative path to the root: "./" or "../"
	Zone  string // the daemon's time zone, named
	Now   string
}

func newBase(title, root string, now time.Time) basePage {
	return basePage{Title: title, Root: root, Zone: zoneName(now), Now: formatTime(now)}
}

type indexView struct {
	basePage
	Name, State string // the filter
	States      []option
	Timeline    timeline
	Timers      []timerRow
	Shown       int // the timers listed, of
	Matching    int // those the filter lets through, of
	Total       int // all
	Failed      int
	Running     int

	timelineTimers []manager.TimerStatus // the timers the timeline draws
}

type option struct {
	Value, Label string
	Selected     bool
}

type timerRow struct {
	Name, Href         string
	Unit, UnitHref     string
	Schedule           string
	Next, Left         string
	Last, Passed       string
	State              string
	Result, ResultText string // the service's: a class (ok, fail, skip, none) and words
}

// A timeline is the last and next 24 hours as an SVG drawing.
type timeline struct {
	Width, Height int
	Left, Right   float64 // the plot's edges
	NowX          float64
	Ticks         []tick
	Rows          []timelineRow
}

type tick struct {
	X     float64
	Label string
}

type timelineRow struct {
	Mid, TextY float64
	Name, Href string
	Bars       []bar
	Marks      []mark
}

// A bar is a run: its length the duration, its class the result.
type bar struct {
	X, Y, W, H float64
	Class      string // ok, fail, skip, run, gone
	Title      string
	Href       string
	CatchUp    string // the path of its catch-up mark, "" for none
	Cross      string // the path of a failure's cross, "" for none
}

// A mark is an elapse to come.
type mark struct {
	Path  string
	Title string
}

const (
	tlWidth  = 1000
	tlLabel  = 190.0
	tlRight  = 985.0
	tlRow    = 22.0
	tlTop    = 24.0
	tlWindow = 24 * time.Hour
	// maxTimelineRows and maxTableRows bound the page for a daemon of
	// many timers: the filter narrows it down.
	maxTimelineRows = 60
	maxTableRows    = 1000
)

// filter is the page's choice of timers: a part of the name, and a state.
type filter struct{ name, state string }

var states = []option{{"", "any state", false}, {"failed", "failed", false}, {"running", "running", false},
	{"active", "active", false}, {"inactive", "inactive", false}}

func (f filter) match(t manager.TimerStatus, sv *manager.ServiceStatus) bool {
	if f.name != "" && !strings.Contains(t.Name, f.name) && !strings.Contains(t.Unit, f.name) {
		return false
	}
	switch f.state {
	case "failed":
		return t.State == "failed" || sv != nil && sv.Active == "failed"
	case "running":
		return sv != nil && sv.Running
	case "active":
		return t.Active
	case "inactive":
		return !t.Active
	}
	return true
}

// newIndex is the main page's view but its timeline: the timers the
// filter chooses, those failed first, then by their next elapse, as
// list-timers orders them; and the units whose runs the timeline draws.
func newIndex(s manager.Snapshot, f filter) (indexView, []string) {
	now := s.Now
	v := indexView{basePage: newBase("sundial", "./", now), Name: f.name, State: f.state, Total: len(s.Timers)}
	v.States = slices.Clone(states)
	for i := range v.States {
		v.States[i].Selected = v.States[i].Value == f.state
	}
	services := make(map[string]*manager.ServiceStatus, len(s.Services))
	for i := range s.Services {
		services[s.Services[i].Name] = &s.Services[i]
	}
	var chosen []manager.TimerStatus
	for _, t := range s.Timers {
		sv := services[t.Unit]
		if timerFailed(t, sv) {
			v.Failed++
		}
		if sv != nil && sv.Running {
			v.Running++
		}
		if f.match(t, sv) {
			chosen = append(chosen, t)
		}
	}
	v.Matching = len(chosen)
	slices.SortStableFunc(chosen, func(a, b manager.TimerStatus) int {
		fa, fb := timerFailed(a, services[a.Unit]), timerFailed(b, services[b.Unit])
		if fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		return cmp.Compare(nextKey(a), nextKey(b))
	})
	chosen = chosen[:min(len(chosen), maxTableRows)]
	v.Shown = len(chosen)
	for _, t := range chosen {
		v.Timers = append(v.Timers, newTimerRow(t, services[t.Unit], now))
	}
	v.timelineTimers = chosen[:min(len(chosen), maxTimelineRows)]
	units := make([]string, 0, len(v.timelineTimers))
	for _, t := range v.timelineTimers {
		units = append(units, t.Unit)
	}
	return v, units
}

// nextKey orders the timers by next elapse, those without one last.
func nextKey(t manager.TimerStatus) int64 {
	if t.Next.IsZero() {
		return 1<<63 - 1
	}
	return t.Next.UnixMicro()
}

func timerFailed(t manager.TimerStatus, sv *manager.ServiceStatus) bool {
	return t.State == "failed" || sv != nil && sv.Active == "failed"
}

func newTimerRow(t manager.TimerStatus, sv *manager.ServiceStatus, now time.Time) timerRow {
	r := timerRow{Name: t.Name, Href: unitHref("./", t.Name), Unit: t.Unit, UnitHref: unitHref("./", t.Unit),
		Schedule: strings.Join(t.Schedule, "; "), State: t.State, Result: "none", ResultText: "no runs"}
	r.Next, r.Left = "-", "-"
	if !t.Next.IsZero() {
		r.Next, r.Left = formatTime(t.Next), span(t.Next.Sub(now))
	}
	r.Last, r.Passed = "-", "-"
	if !t.LastTrigger.IsZero() {
		r.Last, r.Passed = formatTime(t.LastTrigger), span(now.Sub(t.LastTrigger))+" ago"
	}
	if sv != nil {
		switch {
		case sv.Running:
			r.Result, r.ResultText = "run", "running"
		case sv.LastEnd.IsZero():
		case sv.Active == "failed" || sv.LastFailure.Equal(sv.LastEnd):
			r.Result, r.ResultText = "fail", "failed ("+sv.Result+")"
		case sv.LastSuccess.Equal(sv.LastEnd):
			r.Result, r.ResultText = "ok", "success"
		default:
			r.Result, r.ResultText = "skip", "skipped"
		}
	}
	return r
}

// newTimeline draws the timers' runs of the last 24 hours and their
// elapses of the next 24.
func newTimeline(timers []manager.TimerStatus, runs []store.Run, now time.Time, root string) timeline {
	from, to := now.Add(-tlWindow), now.Add(tlWindow)
	x := func(t time.Time) float64 {
		f := float64(t.Sub(from)) / float64(to.Sub(from))
		return round(tlLabel + max(0, min(1, f))*(tlRight-tlLabel))
	}
	tl := timeline{Width: tlWidth, Height: int(tlTop + tlRow*float64(len(timers)) + 6), Left: tlLabel, Right: tlRight, NowX: x(now)}
	// Ticks on the hours divisible by 6, in the daemon's zone.
	first := time.Date(from.Year(), from.Month(), from.Day(), from.Hour()-from.Hour()%6, 0, 0, 0, from.Location())
	for t := first; !t.After(to); t = t.Add(6 * time.Hour) {
		// None under the now line's label.
		if t.Before(from) || abs(x(t)-tl.NowX) < 30 {
			continue
		}
		tl.Ticks = append(tl.Ticks, tick{X: x(t), Label: t.Format("Mon 15:04")})
	}
	byUnit := map[string][]store.Run{}
	for _, r := range runs {
		byUnit[r.Unit] = append(byUnit[r.Unit], r)
	}
	for i, t := range timers {
		y := tlTop + tlRow*float64(i)
		row := timelineRow{Mid: y + tlRow/2, TextY: y + tlRow/2 + 4, Name: t.Name, Href: unitHref(root, t.Name)}
		for _, r := range byUnit[t.Unit] {
			row.Bars = append(row.Bars, newBar(r, x, y, now, root))
		}
		// Elapses closer than a mark's width show as one.
		gap := time.Duration(float64(to.Sub(from)) * markWidth / (tlRight - tlLabel))
		last := -100.0
		for _, at := range elapses(t, to, gap) {
			mx := x(at)
			if mx-last < markWidth {
				continue
			}
			last = mx
			row.Marks = append(row.Marks, mark{Path: fmt.Sprintf("M%g %gl5 7-5 7-5-7z", mx, y+4),
				Title: t.Name + " elapses " + formatTime(at)})
		}
		tl.Rows = append(tl.Rows, row)
	}
	return tl
}

func newBar(r store.Run, x func(time.Time) float64, y float64, now time.Time, root string) bar {
	start := time.UnixMicro(int64(r.Started)).In(now.Location())
	end := now
	if r.Ended != 0 {
		end = time.UnixMicro(int64(r.Ended)).In(now.Location())
	}
	b := bar{X: x(start), Y: y + 4, H: tlRow - 8, Href: runHref(root, r.ID)}
	// At least 3 pixels: a run of milliseconds is seen.
	b.W = max(3, x(end)-b.X)
	b.Class, _ = resultClass(r)
	b.Title = fmt.Sprintf("%s %s, %s: %s", r.Unit, formatTime(start), span(end.Sub(start)), resultWords(r))
	if strings.HasSuffix(r.Reason, "(catch-up)") {
		b.CatchUp = fmt.Sprintf("M%g %gl4 -6 4 6z", b.X, y+4)
		b.Title += " (catch-up)"
	}
	if b.Class == "fail" {
		cx := b.X + b.W/2
		b.Cross = fmt.Sprintf("M%g %gl6 6m0 -6l-6 6", cx-3, b.Y+b.H/2-3)
	}
	return b
}

// markWidth is the width of an elapse's mark, in pixels.
const markWidth = 8

// elapses are the timer's elapses from its next to the end of the
// window, its calendar settings' further ones too, those of a setting
// at least gap apart.
func elapses(t manager.TimerStatus, to time.Time, gap time.Duration) []time.Time {
	if t.Next.IsZero() {
		return nil
	}
	out := []time.Time{t.Next}
	for _, s := range t.Schedule {
		text, ok := strings.CutPrefix(s, "OnCalendar=")
		if !ok {
			continue
		}
		spec, err := calendar.ParseInLocation(text, t.Next.Location())
		if err != nil {
			continue
		}
		at := t.Next
		for {
			next, ok := spec.Next(at)
			if !ok || next.After(to) {
				break
			}
			out = append(out, next)
			at = next.Add(gap)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return slices.CompactFunc(out, time.Time.Equal)
}

// resultClass is the class of a run's result, and whether it failed.
func resultClass(r store.Run) (string, bool) {
	switch {
	case r.State == store.RunRunning:
		return "run", false
	case r.State == store.RunInterrupted || r.State == cluster.RunNodeLost:
		return "gone", true
	case r.Result == "success":
		return "ok", false
	case strings.HasPrefix(r.Result, "skipped"):
		return "skip", false
	}
	return "fail", true
}

func resultWords(r store.Run) string {
	switch r.State {
	case store.RunRunning:
		return "running"
	case store.RunInterrupted, cluster.RunNodeLost:
		return string(r.State)
	}
	return r.Result
}

type runRow struct {
	ID                 int64
	Href               string // "" for a run of another node
	Node               string // in a cluster, the node it ran on
	Unit, UnitHref     string
	Started, Ended     string
	Duration           string
	Result, ResultText string
	Exit               string
	Reason, Timer      string
}

func newRunRow(r store.Run, now time.Time, root string) runRow {
	start := time.UnixMicro(int64(r.Started)).In(now.Location())
	row := runRow{ID: r.ID, Href: runHref(root, r.ID), Unit: r.Unit, UnitHref: unitHref(root, r.Unit), Started: formatTime(start),
		Ended: "-", Reason: r.Reason, Timer: r.Timer, ResultText: resultWords(r)}
	row.Result, _ = resultClass(r)
	end := now
	if r.Ended != 0 {
		end = time.UnixMicro(int64(r.Ended)).In(now.Location())
		row.Ended = formatTime(end)
	}
	row.Duration = span(end.Sub(start))
	if r.ExitCode != "" {
		row.Exit = "code=" + r.ExitCode + ", status=" + strconv.Itoa(r.ExitStatus)
	}
	return row
}

// A trend is the durations of a unit's last runs, as bars.
type trend struct {
	Width, Height int
	Bars          []bar
	Min, Avg, Max string
}

func newTrend(runs []store.Run, now time.Time, root string) trend {
	const w, h, step = 600, 80, 12
	tr := trend{Width: w, Height: h + 4}
	runs = runs[max(0, len(runs)-w/step):]
	var durs []time.Duration
	longest := time.Duration(0)
	for _, r := range runs {
		d := runDuration(r, now)
		durs = append(durs, d)
		longest = max(longest, d)
	}
	if len(durs) == 0 {
		return tr
	}
	var sum time.Duration
	for i, r := range runs {
		d := durs[i]
		sum += d
		bh := round(max(2, float64(h)*float64(d)/float64(max(longest, 1))))
		b := bar{X: float64(i * step), Y: float64(h) - bh + 2, W: step - 3, H: bh, Href: runHref(root, r.ID),
			Title: fmt.Sprintf("%s: %s, %s", formatTime(time.UnixMicro(int64(r.Started)).In(now.Location())), span(d), resultWords(r))}
		b.Class, _ = resultClass(r)
		tr.Bars = append(tr.Bars, b)
	}
	tr.Min, tr.Max = span(slices.Min(durs)), span(longest)
	tr.Avg = span(sum / time.Duration(len(durs)))
	return tr
}

func runDuration(r store.Run, now time.Time) time.Duration {
	end := uint64(now.UnixMicro())
	if r.Ended != 0 {
		end = r.Ended
	}
	return time.Duration(end-min(end, r.Started)) * time.Microsecond
}

func unitHref(root, name string) string { return root + "unit/" + url.PathEscape(name) }

// runHref is the path of a run's page; "" for a run of another node of
// a cluster (no ID here), whose journal is on its node.
func runHref(root string, id int64) string {
	if id == 0 {
		return ""
	}
	return root + "run/" + strconv.FormatInt(id, 10)
}

// storedRun is a run as the history has it, of this node or another.
func storedRun(r api.Run) store.Run {
	return store.Run{ID: r.ID, Unit: r.Unit, Timer: r.Timer, Reason: r.Reason, Invocation: r.Invocation, Started: r.Started,
		Ended: r.Ended, State: store.RunState(r.State), Result: r.Result, ExitCode: r.ExitCode, ExitStatus: r.ExitStatus}
}

// formatTime is a time as list-timers shows it, in its zone.
func formatTime(t time.Time) string { return t.Format("Mon 2006-01-02 15:04:05 MST") }

// span is a duration as systemd formats a timespan, to the second, or
// to the millisecond below a second.
func span(d time.Duration) string {
	d = max(d, 0)
	acc := timespan.Second
	if d < time.Second {
		acc = timespan.Millisecond
	}
	return timespan.Span(d / time.Microsecond).Format(acc)
}

func abs(f float64) float64 { return max(f, -f) }

func round(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// zoneName names a time zone: the Local one by the TZ variable or where
// /etc/localtime leads, with its abbreviation.
func zoneName(now time.Time) string {
	abbr, _ := now.Zone()
	name := now.Location().String()
	if name == "Local" {
		name = strings.TrimPrefix(os.Getenv("TZ"), ":")
		if name == "" {
			if target, err := os.Readlink("/etc/localtime"); err == nil {
				if _, after, ok := strings.Cut(target, "zoneinfo/"); ok {
					name = after
				}
			}
		}
	}
	if name == "" || name == abbr {
		return abbr
	}
	return name + " (" + abbr + ")"
}
