package manager

import (
	"context"
	"fmt"
	"regexp"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/store"
)

// ReadJournal answers a journal query from the store: the daemon's
// answer, and journalctl's when no daemon runs and it reads the store
// itself.
func ReadJournal(ctx context.Context, st *store.Store, q api.JournalQuery) ([]api.Entry, error) {
	f := store.Filter{Units: q.Units, Identifiers: q.Identifiers, Priorities: q.Priorities, Since: q.Since, Until: q.Until,
		Boot: q.Boot, Last: q.Last, First: q.First, After: q.After}
	if q.Grep != "" {
		re, err := regexp.Compile(q.Grep)
		if err != nil {
			return nil, fmt.Errorf("bad pattern: %w", err)
		}
		f.Grep = re
	}
	var out []api.Entry
	for e, err := range st.Query(ctx, f) {
		if err != nil {
			return nil, err
		}
		out = append(out, api.Entry{Cursor: e.Seq, Realtime: e.Realtime, Monotonic: e.Monotonic, Boot: e.Boot, Unit: e.Unit,
			Invocation: e.Invocation, PID: e.PID, Identifier: e.Identifier, Priority: e.Priority, Message: e.Message,
			MessageID: e.MessageID, Fields: e.Fields})
	}
	return out, nil
}

// ReadJournalBoots returns the boots the journal in the store has
// entries of, as ReadJournal its entries.
func ReadJournalBoots(ctx context.Context, st *store.Store) ([]api.Boot, error) {
	boots, err := st.JournalBoots(ctx)
	var out []api.Boot
	for _, b := range boots {
		out = append(out, api.Boot{ID: b.ID, First: b.First, Last: b.Last})
	}
	return out, err
}

// VacuumJournal deletes the oldest of the journal in the store of a
// state directory, as v says, but for the entries from sequence number
// active on: the daemon's, which keeps what it wrote since it started,
// as journald keeps its active file, or journalctl's when no daemon
// runs (active math.MaxInt64: none kept).
func VacuumJournal(ctx context.Context, st *store.Store, stateDir string, v api.Vacuum, active int64) (api.Vacuumed, error) {
	freed, err := st.Vacuum(ctx, v.Before, v.MaxBytes, active)
	return api.Vacuumed{Freed: freed, Dir: stateDir}, err
}

// ReadRuns returns the run history's last runs of a unit ("" for all;
// last 0 for all), from the store, as ReadJournal the journal.
func ReadRuns(ctx context.Context, st *store.Store, unit string, last int) ([]api.Run, error) {
	var out []api.Run
	for r, err := range st.Runs(ctx, unit, last) {
		if err != nil {
			return nil, err
		}
		out = append(out, api.Run{ID: r.ID, Unit: r.Unit, Timer: r.Timer, Reason: r.Reason, Invocation: r.Invocation,
			Started: r.Started, Ended: r.Ended, State: string(r.State), Result: r.Result, ExitCode: r.ExitCode, ExitStatus: r.ExitStatus})
	}
	return out, nil
}
