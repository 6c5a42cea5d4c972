package api

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type fakeBackend struct{ timers []Timer }

func (f fakeBackend) Timers(context.Context) ([]Timer, error) { return f.timers, nil }
func (f fakeBackend) Runs(_ context.Context, unit string, last int) ([]Run, error) {
	return []Run{{ID: int64(last), Unit: unit}}, nil
}
func (f fakeBackend) Journal(_ context.Context, q JournalQuery) ([]Entry, error) {
	return []Entry{{Unit: q.Units[0], Message: "hello"}}, nil
}

func TestRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "control")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sock, filepath.Dir(sock)} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %v, open to others", p, perm)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	want := []Timer{{Unit: "a.timer", Activates: "a.service", State: "waiting", Next: 42}}
	go func() { done <- Serve(ctx, l, fakeBackend{want}) }()
	c := &Client{Socket: sock}
	got, err := c.Timers(context.Background())
	if err != nil || len(got) != 1 || got[0] != want[0] {
		t.Errorf("Timers() = %+v, %v", got, err)
	}
	entries, err := c.Journal(context.Background(), JournalQuery{Units: []string{"a.service"}})
	if err != nil || len(entries) != 1 || entries[0].Unit != "a.service" {
		t.Errorf("Journal() = %+v, %v", entries, err)
	}
	if runs, err := c.Runs(context.Background(), "a.service", 3); err != nil || len(runs) != 1 || runs[0] != (Run{ID: 3, Unit: "a.service"}) {
		t.Errorf("Runs() = %+v, %v", runs, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := c.Timers(context.Background()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("with no daemon: %v, want ErrNoDaemon", err)
	}
}
