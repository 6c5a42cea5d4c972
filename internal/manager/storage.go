package manager

import (
	"context"
	"path/filepath"

	"sundial.dev/sundial/internal/store"
)

// openStore opens the database in the state directory, its files only
// the daemon's user's.
func (m *Manager) openStore(ctx context.Context) (*store.Store, error) {
	path := filepath.Join(m.StateDir, "sundial.db")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := tighten(p, m.log); err != nil {
			return nil, err
		}
	}
	return store.Open(ctx, path)
}
