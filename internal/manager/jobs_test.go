package manager

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
)

// TestStartWhileStopping stops db.service by starting a unit that
// conflicts with it, holding the stop in its ExecStop= until the test
// opens a gate: db is deactivating at once; then a unit that requires db
// is started, and as in systemd, where service_start refuses with
// -EAGAIN while the service stops and its start job waits, db's start
// waits for the stop to end and starts db again, before the unit.
func TestStartWhileStopping(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	gate := newGate(state, "gate")
	writeUnits(t, dir, map[string]string{
		"db.service":    "[Service]\nExecStart=/bin/sleep 600\nExecStop=" + gate.wait() + "\n",
		"rival.service": "[Unit]\nConflicts=db.service\n[Service]\nExecStart=/bin/sleep 600\n",
		"app.service":   "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/sleep 600\n",
	})
	var m *Manager
	c, stop := serve(t, dir, state, run, func(mm *Manager) { m = mm })
	defer stop()
	defer gate.open(t) // lets the daemon stop if the test fails
	ctx := context.Background()
	job := func(verb string, noBlock bool, units ...string) {
		t.Helper()
		res, err := c.Jobs(ctx, api.JobRequest{Verb: verb, Units: units, NoBlock: noBlock})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Error != "" || !noBlock && r.Result != jobDone {
				t.Fatalf("%s %s: %+v", verb, r.Unit, r)
			}
		}
	}
	active := func(name string) string { return unitOf(t, c, name).Active }
	job("start", false, "db.service")
	// Deactivating as soon as it is stopped, as service_stop leaves it,
	// before the activation tells its stop state: is-active says so at
	// once after the start of the unit that conflicts with it.
	var now string
	backend{m}.ask(ctx, func() {
		rival, err := m.get("rival.service")
		if err != nil {
			now = err.Error()
			return
		}
		m.start(rival, activation{reason: "manual"}, nil)
		now, _ = m.units["db.service"].activeSub()
	})
	if now != "deactivating" {
		t.Fatalf("db.service is %s as rival.service starts, want deactivating", now)
	}
	await.Until(t, func() bool { return active("rival.service") == "active" }, "rival.service to start")
	if a := active("db.service"); a != "deactivating" {
		t.Fatalf("db.service is %s while its stop is held, want deactivating", a)
	}
	// Queued while db stops: app's start pulls db's in, and waits for it.
	job("start", true, "app.service")
	gate.open(t)
	final := func(name string) bool { a := active(name); return a != "deactivating" && a != "activating" }
	await.Until(t, func() bool { return final("db.service") && final("app.service") }, "db.service and app.service to settle")
	if a, b := active("db.service"), active("app.service"); a != "active" || b != "active" {
		t.Errorf("db.service %s, app.service %s; want both active", a, b)
	}
	// The journal is written behind the states: waited for.
	var msgs []string
	await.Until(t, func() bool {
		msgs = messages(c, "db.service", "app.service")
		return slices.Contains(msgs, "Started app.service.")
	}, "app.service's start in the journal")
	want := []string{"Starting db.service...", "Started db.service.", "Stopping db.service...",
		"db.service: Deactivated successfully.", "Stopped db.service.", "Starting db.service...", "Started db.service.",
		"Starting app.service...", "Started app.service."}
	if !slices.Equal(msgs, want) {
		t.Errorf("journal of db.service and app.service:\n  %s\nwant:\n  %s", strings.Join(msgs, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestDependencyDoneAtOnce: a dependency whose start job ends at once (a
// failed assert, a target) lets the unit that requires it go on once: one
// "Dependency failed", one activation.
func TestDependencyDoneAtOnce(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"asserted.service": "[Unit]\nAssertPathExists=/nonexistent\n[Service]\nExecStart=/bin/true\n",
		"needs.service":    "[Unit]\nRequires=asserted.service\nAfter=asserted.service\n[Service]\nExecStart=/bin/true\n",
		"early.target":     "[Unit]\nDescription=Early\n",
		"after.service":    "[Unit]\nWants=early.target\nAfter=early.target\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"marker.target":    "[Unit]\nDescription=Marker\n",
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()
	for _, u := range []string{"needs.service", "after.service", "marker.target"} {
		if _, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{u}}); err != nil {
			t.Fatal(err)
		}
	}
	// The journal is written in order: once the marker's line is there,
	// any second line of the others is too.
	await.Until(t, func() bool {
		return slices.Contains(messages(c, "marker.target"), "Reached target marker.target - Marker.")
	}, "the marker")
	count := func(unit, msg string) int {
		n := 0
		for _, m := range messages(c, unit) {
			if strings.HasPrefix(m, msg) {
				n++
			}
		}
		return n
	}
	if n := count("needs.service", "Dependency failed for needs.service"); n != 1 {
		t.Errorf("%d lines of needs.service's failed dependency, want 1: %q", n, messages(c, "needs.service"))
	}
	if n := count("after.service", "Finished after.service"); n != 1 {
		t.Errorf("after.service finished %d times, want 1: %q", n, messages(c, "after.service"))
	}
}

// TestStartJobMessage: the journal line of a start job done is
// service_finished_job's "Finished" for every oneshot, one that remains
// active too, and job_done_message_format's "Started" for the other
// types, one that ended before its job was done too.
func TestStartJobMessage(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	units := map[string]string{
		"oneshot.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"remain.service":  "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n",
		"simple.service":  "[Service]\nExecStart=/bin/true\n",
		"forking.service": "[Service]\nType=forking\nExecStart=/bin/true\n",
		"exec.service":    "[Service]\nType=exec\nExecStart=/bin/true\n",
	}
	want := map[string]string{
		"oneshot.service": "Finished oneshot.service.",
		"remain.service":  "Finished remain.service.",
		"simple.service":  "Started simple.service.",
		"forking.service": "Started forking.service.",
		"exec.service":    "Started exec.service.",
	}
	writeUnits(t, dir, maps.Clone(units))
	c, stop := serve(t, dir, state, t.TempDir())
	defer stop()
	for name := range units {
		res, err := c.Jobs(context.Background(), api.JobRequest{Verb: "start", Units: []string{name}})
		if err != nil || len(res) != 1 || res[0].Result != jobDone {
			t.Fatalf("start %s: %+v, %v", name, res, err)
		}
		var done []string
		await.Until(t, func() bool {
			done = slices.DeleteFunc(messages(c, name), func(m string) bool {
				return !strings.HasPrefix(m, "Started ") && !strings.HasPrefix(m, "Finished ")
			})
			return len(done) > 0
		}, "%s's start job in the journal", name)
		if len(done) != 1 || done[0] != want[name] {
			t.Errorf("%s: %q, want %q", name, done, want[name])
		}
	}
}

// TestStartCanceledByStop: a stop asked for while a oneshot's start job
// runs cancels that job, as the stop job takes its place in systemd: the
// start ends canceled, and the journal says neither "Finished" nor
// "Failed to start".
func TestStartCanceledByStop(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	started := filepath.Join(state, "started")
	writeUnits(t, dir, map[string]string{
		"long.service":  "[Unit]\nDescription=Long\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'touch " + started + "; exec sleep 600'\n",
		"marker.target": "[Unit]\nDescription=Marker\n",
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()
	result := make(chan api.JobResult, 1)
	go func() {
		res, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{"long.service"}})
		if err != nil || len(res) != 1 {
			t.Errorf("start: %+v, %v", res, err)
			res = []api.JobResult{{}}
		}
		result <- res[0]
	}()
	await.Until(t, func() bool { _, err := os.Stat(started); return err == nil }, "the service running")
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "stop", Units: []string{"long.service"}}); err != nil || len(res) != 1 || res[0].Result != jobDone {
		t.Fatalf("stop: %+v, %v", res, err)
	}
	if r := <-result; r.Result != jobCanceled {
		t.Errorf("start job %+v, want canceled", r)
	}
	if _, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{"marker.target"}}); err != nil {
		t.Fatal(err)
	}
	await.Until(t, func() bool {
		return slices.Contains(messages(c, "marker.target"), "Reached target marker.target - Marker.")
	}, "the marker")
	for _, m := range messages(c, "long.service") {
		if strings.HasPrefix(m, "Finished ") || strings.HasPrefix(m, "Failed to start ") {
			t.Errorf("logged %q", m)
		}
	}
}

// TestStopPropagates: a stop of db.service stops, with it, the units
// that Requires=, BindsTo= or PartOf= it, and those of its
// PropagatesStopTo=, as systemd's stop job propagates; not the one that
// only Wants= it. app.service, ordered after db, stops before it.
func TestStopPropagates(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	sleep := "[Service]\nExecStart=/bin/sleep 600\n"
	writeUnits(t, dir, map[string]string{
		"db.service":     "[Unit]\nPropagatesStopTo=cache.service\n" + sleep,
		"app.service":    "[Unit]\nRequires=db.service\nAfter=db.service\n" + sleep,
		"bound.service":  "[Unit]\nBindsTo=db.service\n" + sleep,
		"part.service":   "[Unit]\nPartOf=db.service\n" + sleep,
		"cache.service":  sleep,
		"wanter.service": "[Unit]\nWants=db.service\n" + sleep,
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()
	all := []string{"db.service", "app.service", "bound.service", "part.service", "cache.service", "wanter.service"}
	doJobs(t, c, "start", all...)
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "stop", Units: []string{"db.service"}}); err != nil || res[0].Result != jobDone {
		t.Fatalf("stop: %+v, %v", res, err)
	}
	active := func() map[string]string {
		units, err := c.Units(ctx, all, false)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, u := range units {
			m[u.Name] = u.Active
		}
		return m
	}
	want := map[string]string{"db.service": "inactive", "app.service": "inactive", "bound.service": "inactive",
		"part.service": "inactive", "cache.service": "inactive", "wanter.service": "active"}
	var got map[string]string
	await.Until(t, func() bool { got = active(); return maps.Equal(got, want) }, "the stops: %v", want)
	// app.service stopped before db.service was asked to.
	msgs := messages(c, "app.service", "db.service")
	i, j := slices.Index(msgs, "Stopped app.service."), slices.Index(msgs, "Stopping db.service...")
	if i < 0 || j < 0 || i > j {
		t.Errorf("journal of app.service and db.service:\n  %s", strings.Join(msgs, "\n  "))
	}
}

// TestBoundToInactive: a unit bound to one a condition skipped is
// stopped once active, as unit_check_binds_to stops it, with its words;
// one that only requires it goes on. A unit bound to a service that
// ends of itself is stopped with it (retroactively_stop_dependencies),
// without those words.
func TestBoundToInactive(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	gate := newGate(state, "gate")
	sleep := "[Service]\nExecStart=/bin/sleep 600\n"
	writeUnits(t, dir, map[string]string{
		"skipped.service":  "[Unit]\nConditionPathExists=/nonexistent\n[Service]\nExecStart=/bin/true\n",
		"bound.service":    "[Unit]\nBindsTo=skipped.service\nAfter=skipped.service\n" + sleep,
		"required.service": "[Unit]\nRequires=skipped.service\nAfter=skipped.service\n" + sleep,
		"short.service":    "[Service]\nExecStart=" + gate.wait() + "\n",
		"follows.service":  "[Unit]\nBindsTo=short.service\nAfter=short.service\n" + sleep,
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	doJobs(t, c, "start", "bound.service", "required.service", "follows.service")
	is := func(name string) string { return unitOf(t, c, name).Active }
	await.Until(t, func() bool { return is("bound.service") == "inactive" }, "bound.service to stop")
	want := []string{"Starting bound.service...", "Started bound.service.",
		"bound.service: Unit is bound to inactive unit skipped.service. Stopping, too.",
		"Stopping bound.service...", "bound.service: Deactivated successfully.", "Stopped bound.service."}
	var msgs []string
	await.Until(t, func() bool { msgs = messages(c, "bound.service"); return len(msgs) >= len(want) }, "bound.service's journal")
	if !slices.Equal(msgs, want) {
		t.Errorf("journal of bound.service:\n  %s\nwant:\n  %s", strings.Join(msgs, "\n  "), strings.Join(want, "\n  "))
	}
	if a := is("required.service"); a != "active" {
		t.Errorf("required.service is %s, want active", a)
	}
	if a := is("follows.service"); a != "active" {
		t.Fatalf("follows.service is %s before short.service ends, want active", a)
	}
	gate.open(t)
	await.Until(t, func() bool { return is("follows.service") == "inactive" }, "follows.service to stop with short.service")
	for _, m := range messages(c, "follows.service") {
		if strings.Contains(m, "bound to inactive") {
			t.Errorf("logged %q", m)
		}
	}
}

// TestRestartPropagates: a restart of db.service restarts the units its
// stop stops, once it has started again, as systemd's try-restart jobs
// for them do; those inactive stay so.
func TestRestartPropagates(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	sleep := "[Service]\nExecStart=/bin/sleep 600\n"
	writeUnits(t, dir, map[string]string{
		"db.service":    sleep,
		"app.service":   "[Unit]\nRequires=db.service\nAfter=db.service\n" + sleep,
		"front.service": "[Unit]\nBindsTo=app.service\nAfter=app.service\n" + sleep,
		"idle.service":  "[Unit]\nRequires=db.service\n" + sleep,
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()
	doJobs(t, c, "start", "db.service", "app.service", "front.service")
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "restart", Units: []string{"db.service"}}); err != nil || res[0].Result != jobDone {
		t.Fatalf("restart: %+v, %v", res, err)
	}
	want := []string{"Started app.service.", "Stopping app.service...", "app.service: Deactivated successfully.",
		"Stopped app.service.", "Starting app.service...", "Started app.service."}
	// front.service, bound to app.service, starts again last.
	await.Until(t, func() bool {
		return strings.Count(strings.Join(messages(c, "front.service"), "\n"), "Started front.service.") == 2
	}, "front.service to start again")
	await.Until(t, func() bool {
		msgs := messages(c, "app.service")
		return len(msgs) >= len(want) && slices.Equal(msgs[len(msgs)-len(want):], want)
	}, "app.service's journal to end in %q", want)
	// front.service may be started while app.service still starts:
	// waited for.
	states := func() string { return activeStates(t, c, "db.service", "app.service", "front.service", "idle.service") }
	want2 := "app.service active, db.service active, front.service active, idle.service inactive"
	await.Until(t, func() bool { return states() == want2 }, "%s", want2)
}

// TestStopPropagatesThroughInactive: a stop goes on through a unit that
// requires the unit stopped but is inactive, a oneshot that ended, to
// the unit active that requires it, as systemd's transaction adds their
// stop jobs and drops only the one of the unit inactive, which says
// nothing; a unit with Requisite= is stopped too. A timer is not: its
// service's stop does not propagate to it (Triggers= propagates none). A
// restart does not go through the unit inactive.
func TestStopPropagatesThroughInactive(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	sleep := "[Service]\nExecStart=/bin/sleep 600\n"
	writeUnits(t, dir, map[string]string{
		"db.service":      sleep,
		"migrate.service": "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"app.service":     "[Unit]\nRequires=migrate.service\nAfter=migrate.service\n" + sleep,
		"app.timer":       "[Timer]\nOnActiveSec=1h\n",
		"check.service":   "[Unit]\nRequisite=db.service\nAfter=db.service\n" + sleep,
		"idle.service":    "[Unit]\nRequires=db.service\n" + sleep,
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	all := []string{"db.service", "migrate.service", "app.service", "app.timer", "check.service", "idle.service"}
	states := func() string { return activeStates(t, c, all...) }
	for _, u := range []string{"app.service", "check.service", "app.timer"} {
		doJobs(t, c, "start", u)
	}
	want := "app.service active, app.timer active, check.service active, db.service active, idle.service inactive, migrate.service inactive"
	await.Until(t, func() bool { return states() == want }, "%s", want)
	// A restart leaves them be: its try-restart of migrate.service, which
	// is inactive, is nothing.
	doJobs(t, c, "restart", "db.service")
	await.Until(t, func() bool { return states() == want }, "%s", want)
	if msgs := messages(c, "app.service"); slices.Contains(msgs, "Stopping app.service...") {
		t.Errorf("app.service stopped by the restart of db.service:\n  %s", strings.Join(msgs, "\n  "))
	}
	doJobs(t, c, "stop", "db.service")
	want = "app.service inactive, app.timer active, check.service inactive, db.service inactive, idle.service inactive, migrate.service inactive"
	await.Until(t, func() bool { return states() == want }, "%s", want)
	for _, u := range []string{"migrate.service", "idle.service"} {
		for _, msg := range messages(c, u) {
			if strings.HasPrefix(msg, "Stop") {
				t.Errorf("%s, inactive, logged %q", u, msg)
			}
		}
	}
}

// TestStartWaitsForStartUnderWay: a unit ordered after one whose start
// job is under way, activating in its ExecStartPre= until the test opens
// a gate, waits for that job's end before it starts, as systemd's start
// job waits for the jobs of the units it is ordered after; it does not
// take activating for started. A second start of the dependency merges
// with the first: it runs once, and the second ends when the first does.
func TestStartWaitsForStartUnderWay(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	gate := newGate(state, "gate")
	writeUnits(t, dir, map[string]string{
		"db.service":  "[Service]\nExecStartPre=" + gate.wait() + "\nExecStart=/bin/sleep 600\n",
		"app.service": "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/sleep 600\n",
		"log.service": "[Unit]\nWants=db.service\n[Service]\nExecStart=/bin/sleep 600\n",
	})
	var m *Manager
	c, stop := serve(t, dir, state, run, func(mm *Manager) { m = mm })
	defer stop()
	defer gate.open(t) // lets the daemon stop if the test fails
	ctx := context.Background()
	for _, u := range []string{"db.service", "app.service", "log.service"} {
		if res, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{u}, NoBlock: true}); err != nil || res[0].Error != "" {
			t.Fatalf("start %s: %+v, %v", u, res, err)
		}
	}
	states := func(names ...string) string { return activeStates(t, c, names...) }
	// The jobs were asked for in the loop, before it answers this.
	if got, want := states("db.service", "app.service"), "app.service inactive, db.service activating"; got != want {
		t.Errorf("while db.service starts: %s, want %s", got, want)
	}
	// A start of db.service asked for again ends with the first, once
	// db.service is active.
	again := make(chan string, 1)
	backend{m}.ask(ctx, func() {
		db := m.units["db.service"]
		m.start(db, activation{reason: "manual"}, func(r string) {
			a, _ := db.activeSub()
			again <- r + ", db.service " + a
		})
	})
	gate.open(t)
	if got, want := <-again, "done, db.service active"; got != want {
		t.Errorf("the start of db.service asked for again: %s, want %s", got, want)
	}
	want := "app.service active, db.service active, log.service active"
	await.Until(t, func() bool { return states("db.service", "app.service", "log.service") == want }, "%s", want)
	msgs := messages(c, "db.service", "app.service")
	i, j := slices.Index(msgs, "Started db.service."), slices.Index(msgs, "Starting app.service...")
	if i < 0 || j < 0 || i > j || strings.Count(strings.Join(msgs, "\n"), "Starting db.service...") != 1 {
		t.Errorf("journal of db.service and app.service:\n  %s", strings.Join(msgs, "\n  "))
	}
}

// TestPropagatesStopToGraceful: PropagatesStopTo= and StopPropagatedFrom=
// are followed from the unit stopped or restarted only, after the other
// dependencies (UNIT_ATOM_PROPAGATE_STOP_GRACEFUL): a unit stopped as it
// requires db.service does not stop its own PropagatesStopTo= units, and
// a restart of db.service stops cache.service and peer.service, without
// starting them again, as it restarts app.service.
func TestPropagatesStopToGraceful(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	sleep := "[Service]\nExecStart=/bin/sleep 600\n"
	writeUnits(t, dir, map[string]string{
		"db.service":    "[Unit]\nPropagatesStopTo=cache.service\n" + sleep,
		"cache.service": sleep,
		"peer.service":  "[Unit]\nStopPropagatedFrom=db.service\n" + sleep,
		"app.service":   "[Unit]\nRequires=db.service\nAfter=db.service\nPropagatesStopTo=side.service\n" + sleep,
		"side.service":  sleep,
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	states := func() string {
		return activeStates(t, c, "db.service", "cache.service", "peer.service", "app.service", "side.service")
	}
	all := []string{"db.service", "cache.service", "peer.service", "app.service", "side.service"}
	doJobs(t, c, "start", all...)
	doJobs(t, c, "restart", "db.service")
	want := "app.service active, cache.service inactive, db.service active, peer.service inactive, side.service active"
	await.Until(t, func() bool { return states() == want }, "%s", want)
	doJobs(t, c, "start", all...)
	doJobs(t, c, "stop", "db.service")
	want = "app.service inactive, cache.service inactive, db.service inactive, peer.service inactive, side.service active"
	await.Until(t, func() bool { return states() == want }, "%s", want)
}

// TestBoundToRestarting: a service that ends and is to be restarted
// passes through an inactive state before its auto-restart, as systemd
// 254's service_enter_dead: the units bound to it stop, unless its
// RestartMode= is direct.
func TestBoundToRestarting(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	gate := newGate(state, "gate")
	sleep := "[Service]\nExecStart=/bin/sleep 600\n"
	crash := "[Service]\nRestart=always\nRestartSec=1h\nExecStart=/bin/sh -c '" + gate.until() + "; exit 3'\n"
	writeUnits(t, dir, map[string]string{
		"db.service":     crash,
		"direct.service": crash + "RestartMode=direct\n",
		"bound.service":  "[Unit]\nBindsTo=db.service\nAfter=db.service\n" + sleep,
		"bound2.service": "[Unit]\nBindsTo=direct.service\nAfter=direct.service\n" + sleep,
		"wanter.service": "[Unit]\nRequires=db.service\nAfter=db.service\n" + sleep,
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	doJobs(t, c, "start", "bound.service", "bound2.service", "wanter.service")
	states := func() string {
		return activeStates(t, c, "db.service", "direct.service", "bound.service", "bound2.service", "wanter.service")
	}
	gate.open(t)
	want := "bound.service inactive, bound2.service active, db.service activating, direct.service activating, wanter.service active"
	await.Until(t, func() bool { return states() == want }, "%s", want)
	msgs := messages(c, "bound.service")
	if i := slices.Index(msgs, "Stopping bound.service..."); i < 0 {
		t.Errorf("journal of bound.service:\n  %s", strings.Join(msgs, "\n  "))
	}
}

// TestRestartFailsDependents: a restart whose start fails fails the
// restart of the units that require the unit with it ("Dependency
// failed"), without a second try of its start; a unit only PartOf= it
// is started again all the same.
func TestRestartFailsDependents(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	gate := newGate(state, "gate")
	sleep := "[Service]\nExecStart=/bin/sleep 600\n"
	writeUnits(t, dir, map[string]string{
		"db.service":   "[Service]\nExecStartPre=/bin/sh -c 'test ! -e " + string(gate) + "'\nExecStart=/bin/sleep 600\n",
		"app.service":  "[Unit]\nRequires=db.service\nAfter=db.service\n" + sleep,
		"part.service": "[Unit]\nPartOf=db.service\n" + sleep,
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()
	doJobs(t, c, "start", "app.service", "part.service")
	gate.open(t)
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "restart", Units: []string{"db.service"}}); err != nil || res[0].Result != jobFailed {
		t.Fatalf("restart: %+v, %v", res, err)
	}
	states := func() string { return activeStates(t, c, "db.service", "app.service", "part.service") }
	want := "app.service inactive, db.service failed, part.service active"
	await.Until(t, func() bool { return states() == want }, "%s", want)
	if msgs := messages(c, "app.service"); msgs[len(msgs)-1] != "Dependency failed for app.service." {
		t.Errorf("journal of app.service:\n  %s", strings.Join(msgs, "\n  "))
	}
	if msgs := messages(c, "db.service"); strings.Count(strings.Join(msgs, "\n"), "Failed to start db.service.") != 1 {
		t.Errorf("journal of db.service:\n  %s", strings.Join(msgs, "\n  "))
	}
}

// TestStopDuringRestart stops the daemon while a restart of db.service,
// which app.service requires, waits for db's ExecStop= (until the test
// opens a gate), once the daemon's own stop of its units has begun (the
// ExecStop= of last.service has run): the restart's start is canceled,
// and the daemon ends, with db.service and app.service not started again.
func TestStopDuringRestart(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	gate, began := newGate(state, "gate"), filepath.Join(state, "began")
	writeUnits(t, dir, map[string]string{
		"db.service":   "[Service]\nExecStart=/bin/sleep 600\nExecStop=" + gate.wait() + "\n",
		"app.service":  "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/sleep 600\n",
		"last.service": "[Service]\nExecStart=/bin/sleep 600\nExecStop=/bin/touch " + began + "\n",
	})
	c, stop := serve(t, dir, state, run)
	defer gate.open(t) // lets the daemon stop if the test fails
	ctx := context.Background()
	doJobs(t, c, "start", "app.service", "last.service")
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "restart", Units: []string{"db.service"}, NoBlock: true}); err != nil || res[0].Error != "" {
		t.Fatalf("restart: %+v, %v", res, err)
	}
	await.Until(t, func() bool {
		return slices.Contains(messages(c, "db.service"), "Stopping db.service...")
	}, "db.service to stop")
	ended := make(chan struct{})
	go func() {
		stop()
		close(ended)
	}()
	await.Until(t, func() bool { _, err := os.Stat(began); return err == nil }, "the daemon to stop its units")
	gate.open(t)
	await.Until(t, func() bool {
		select {
		case <-ended:
			return true
		default:
			return false
		}
	}, "the daemon to end")
}

// TestBoundToDeactivating: a service whose main process ends, and that
// runs its ExecStopPost= then, until the test opens a gate, is
// deactivating of itself: the units bound to it stop from then, as
// unit_notify stops them on the unit's change to deactivating.
func TestBoundToDeactivating(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	gate, post := newGate(state, "gate"), newGate(state, "post")
	writeUnits(t, dir, map[string]string{
		"db.service":    "[Service]\nExecStart=" + gate.wait() + "\nExecStopPost=" + post.wait() + "\n",
		"bound.service": "[Unit]\nBindsTo=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/sleep 600\n",
	})
	c, stop := serve(t, dir, state, run)
	defer stop()
	defer post.open(t) // lets the daemon stop if the test fails
	ctx := context.Background()
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{"bound.service"}}); err != nil || res[0].Result != jobDone {
		t.Fatalf("start: %+v, %v", res, err)
	}
	states := func() string { return activeStates(t, c, "db.service", "bound.service") }
	gate.open(t)
	want := "bound.service inactive, db.service deactivating"
	await.Until(t, func() bool { return states() == want }, "%s", want)
}

// activeStates is "name state" of each unit named, as the daemon tells
// their active states, in the order of the names, joined by ", ".
func activeStates(t *testing.T, c *api.Client, names ...string) string {
	t.Helper()
	units, err := c.Units(context.Background(), names, false)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, u := range units {
		s = append(s, u.Name+" "+u.Active)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// doJobs asks for the jobs of the verb for the units, one by one, each
// to be done.
func doJobs(t *testing.T, c *api.Client, verb string, units ...string) {
	t.Helper()
	for _, u := range units {
		if res, err := c.Jobs(context.Background(), api.JobRequest{Verb: verb, Units: []string{u}}); err != nil || res[0].Result != jobDone {
			t.Fatalf("%s %s: %+v, %v", verb, u, res, err)
		}
	}
}

// A gate is a file whose absence holds a unit's command until the test
// opens it.
type gate string

// newGate is the gate of a file name in dir, closed.
func newGate(dir, name string) gate { return gate(filepath.Join(dir, name)) }

// until is a shell command that returns once the gate is open.
func (g gate) until() string { return "until [ -e " + string(g) + " ]; do sleep 0.01; done" }

// wait is a unit's command line that returns once the gate is open.
func (g gate) wait() string { return "/bin/sh -c '" + g.until() + "'" }

// open opens the gate.
func (g gate) open(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(string(g), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}
