package manager

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"sundial.dev/sundial/internal/store"
)

// StorePath is where the database of a state directory is.
func StorePath(stateDir string) string { return filepath.Join(stateDir, "sundial.db") }

// openStore opens the database in the state directory, its files only
// the daemon's user's. A database found damaged is set aside and a
// fresh one started, as journald's managed_journal_file_open_reliably
// renames a journal file it cannot use and starts a new one: the daemon
// runs, without the stamps and the history it had; a Persistent= timer
// without its stamp counts from now, as one never triggered.
func (m *Manager) openStore(ctx context.Context) (*store.Store, error) {
	path := StorePath(m.StateDir)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := tighten(p, m.log); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(ctx, path)
	var corrupt *store.CorruptError
	if !errors.As(err, &corrupt) {
		return st, err
	}
	aside, err := store.SetAside(path, time.UnixMicro(int64(m.clk.Now().Realtime)))
	if err != nil {
		return nil, fmt.Errorf("%s is corrupt (%s), and cannot be set aside: %w", path, corrupt.Reason, err)
	}
	m.log.Error(fmt.Sprintf("Database %s is corrupt (%s); renamed to %s, and replaced by a new one: the timers' stamps, the run history and the journal start afresh.",
		path, corrupt.Reason, aside))
	removed, err := store.PruneAside(path)
	for _, name := range removed {
		m.log.Info(fmt.Sprintf("Removed %s, an older damaged database.", name))
	}
	if err != nil {
		m.log.Error("Failed to remove the older damaged databases", "err", err)
	}
	return store.Open(ctx, path)
}
