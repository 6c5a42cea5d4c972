package manager

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

// transientHeader begins every transient unit file, as systemd's.
const transientHeader = "# This is a transient unit file, created programmatically via the systemd API. Do not edit.\n"

// maxCollected bounds the units kept, once collected, for the waits that
// come for them late.
const maxCollected = 1024

func (b backend) Transient(ctx context.Context, req api.TransientRequest) (api.JobResult, error) {
	var res api.JobResult
	ended := make(chan struct{}, 1)
	err := b.ask(ctx, func() {
		if b.m.makeTransient(req, &res) && !req.NoBlock {
			b.m.start(b.m.units[res.Unit], activation{reason: "manual"}, func(r string) {
				res.Result = r
				if e := b.m.units[res.Unit]; e != nil && r == jobFailed {
					res.ServiceResult = string(e.result)
				}
				ended <- struct{}{}
			})
			return
		}
		if res.Error == "" {
			b.m.start(b.m.units[res.Unit], activation{reason: "manual"}, nil)
			res.Result = jobDone
		}
		ended <- struct{}{}
	})
	if err != nil {
		return res, err
	}
	select {
	case <-ended:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	return res, nil
}

// makeTransient writes and loads the units of a request, and reports
// whether it could; if not, res says why, and nothing is left of them.
func (m *Manager) makeTransient(req api.TransientRequest, res *api.JobResult) bool {
	if len(req.Units) == 0 {
		res.Error, res.Code = "No unit to create.", "invalid"
		return false
	}
	res.Unit = req.Units[0].Name
	if m.TransientDir == "" {
		res.Error, res.Code = "Transient units are not supported by this daemon.", "invalid"
		return false
	}
	// Files made since the last load count too.
	m.newLoader()
	texts := make([]string, len(req.Units))
	var told []string
	for i, tu := range req.Units {
		n, err := unit.ParseName(tu.Name)
		if err != nil || strings.Contains(tu.Name, "/") {
			res.Error, res.Code = "Invalid unit name or type.", "invalid"
			return false
		}
		if i == 0 && n.Type != unit.Service && n.Type != unit.Timer {
			// Its start would fail with a note in the log only: the
			// request is refused first, leaving nothing behind.
			res.Error, res.Code = fmt.Sprintf("Unit type %s is not supported by sundial; not starting it.", n.Type), "invalid"
			return false
		}
		if n.Template {
			// As manager_load_unit_prepare refuses to load a template.
			res.Error, res.Code = fmt.Sprintf("Unit name %s is missing the instance name.", tu.Name), "invalid"
			return false
		}
		// A name given twice is made once: the second finds the first,
		// as unit_is_pristine finds it.
		if e, err := m.get(tu.Name); err != nil || e.loadState != unit.NotFound || slices.ContainsFunc(req.Units[:i], func(o api.TransientUnit) bool { return o.Name == tu.Name }) {
			res.Error, res.Code = fmt.Sprintf("Unit %s was already loaded or has a fragment file.", tu.Name), "exists"
			return false
		}
		// The properties are set once the unit is there by its name.
		text, notes, err := TransientFile(tu, m.Scope)
		if err != nil {
			res.Error, res.Code = err.Error(), "invalid"
			return false
		}
		texts[i] = text
		told = append(told, notes...)
	}
	if err := os.MkdirAll(m.TransientDir, 0o700); err != nil {
		res.Error, res.Code = err.Error(), "io"
		return false
	}
	var written []string
	undo := func() {
		for _, p := range written {
			os.Remove(p)
		}
		m.newLoader()
	}
	for i, tu := range req.Units {
		p := filepath.Join(m.TransientDir, tu.Name)
		if err := writeFile(p, transientHeader+texts[i]); err != nil {
			undo()
			res.Error, res.Code = err.Error(), "io"
			return false
		}
		written = append(written, p)
	}
	// A new loader sees the new files, which were not there before.
	m.newLoader()
	m.forgetMissing()
	var loaded []*entry
	for _, tu := range req.Units {
		e, err := m.get(tu.Name)
		if err == nil && e.loadState != unit.Loaded {
			msg, _ := refusal(e, "start")
			err = errors.New(msg)
		}
		if err != nil {
			for _, l := range loaded {
				m.forget(l)
			}
			if e != nil && m.units[e.name] == e {
				m.forget(e)
			}
			undo()
			res.Error, res.Code = err.Error(), "invalid"
			return false
		}
		loaded = append(loaded, e)
	}
	// The start is queued with the units made: one it requires that is
	// not there fails both, and leaves nothing.
	if msg, code := m.pullInRefusal(loaded[0]); msg != "" {
		for _, l := range loaded {
			m.forget(l)
		}
		undo()
		res.Error, res.Code = msg, code
		return false
	}
	res.Notes = told
	return true
}

// writeFileTemp begins the names of writeFile's files being written.
const writeFileTemp = ".#transient"

// writeFile writes a file whole or not at all, through a temporary file
// of a short name of its own in the same directory: a unit's name may be
// as long as a file's name may be (UNIT_NAME_MAX), and no longer name
// made from it would do, as systemd's tempfn_random makes a short one.
func writeFile(path, text string) error {
	f, err := os.CreateTemp(filepath.Dir(path), writeFileTemp)
	if err != nil {
		return err
	}
	// CreateTemp makes it 0600: the file is the daemon's user's alone.
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// isTransient reports whether a unit's file is a transient one.
func (m *Manager) isTransient(e *entry) bool {
	rest, ok := strings.CutPrefix(e.snap.FragmentPath(), m.TransientDir+"/")
	return m.TransientDir != "" && ok && rest != "" && !strings.Contains(rest, "/")
}

// loadTransient loads the transient units left by the daemon before, in
// the same runtime directory, and starts their timers again.
func (m *Manager) loadTransient() {
	if m.TransientDir == "" {
		return
	}
	entries, err := os.ReadDir(m.TransientDir)
	if err != nil {
		return
	}
	for _, d := range entries {
		e, err := m.get(d.Name())
		if err != nil || e.loadState != unit.Loaded || e.timer == nil {
			continue
		}
		m.startTimer(context.Background(), e)
	}
}

// collect unloads the transient units nothing needs any more, and
// deletes their files, as systemd's garbage collection: a timer that is
// dead; a service inactive after success (or failed, with
// CollectMode=inactive-or-failed) that no timer in memory triggers.
func (m *Manager) collect() {
	gone := false
	for again := true; again; {
		again = false
		for _, name := range slices.Sorted(maps.Keys(m.transient)) {
			e := m.units[name]
			if !m.collectable(e) {
				continue
			}
			m.remember(e)
			m.forget(e)
			os.Remove(e.snap.FragmentPath())
			again = true
			gone = true
		}
	}
	if gone {
		// The loader knows the files as they were.
		m.newLoader()
	}
}

func (m *Manager) collectable(e *entry) bool {
	if len(e.waiters) > 0 || e.isActive() || e.run != nil || e.restartPending {
		return false
	}
	active, _ := e.activeSub()
	if active == "failed" && !e.collectFailed {
		return false
	}
	for _, te := range e.triggeredBy {
		if m.units[te.name] == te {
			return false
		}
	}
	return true
}

// remember keeps a collected unit as it was last, for a wait that
// comes for it after.
func (m *Manager) remember(e *entry) {
	if m.collected == nil {
		m.collected = map[string]api.Unit{}
	}
	if len(m.collected) >= maxCollected {
		clear(m.collected)
	}
	m.collected[e.name] = m.describeUnit(e, false)
}

// forget takes a unit out of memory.
func (m *Manager) forget(e *entry) {
	if e.timer != nil {
		m.engine.Remove(e.timer)
		if se := m.units[e.trigger]; se != nil {
			se.triggeredBy = slices.DeleteFunc(se.triggeredBy, func(t *entry) bool { return t == e })
		}
	}
	delete(m.units, e.name)
	m.unitsChanged()
	delete(m.transient, e.name)
}

func (b backend) WaitInactive(ctx context.Context, name string) (api.Unit, error) {
	var out api.Unit
	var missing error
	ended := make(chan struct{}, 1)
	err := b.ask(ctx, func() {
		m := b.m
		e := m.units[name]
		if e == nil {
			if u, ok := m.collected[name]; ok {
				out = u
			} else {
				//lint:ignore ST1005 systemd's words
				missing = fmt.Errorf("Unit %s not loaded.", name)
			}
			ended <- struct{}{}
			return
		}
		e.waiters = append(e.waiters, func() bool {
			if e.isActive() {
				return false
			}
			out = m.describeUnit(e, false)
			ended <- struct{}{}
			return true
		})
		m.settleJobs(e)
	})
	if err != nil {
		return out, err
	}
	select {
	case <-ended:
	case <-ctx.Done():
		return out, ctx.Err()
	}
	return out, missing
}
