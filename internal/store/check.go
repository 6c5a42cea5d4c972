package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// prepareFile makes a missing database file, only its user's: SQLite
// creates the file, and its -wal and -shm after it, with the mode of
// the database, which it would make 0644.
func prepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return f.Close()
}
