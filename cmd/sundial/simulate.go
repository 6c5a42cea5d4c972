package main

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

const simulateUsage = `%s simulate [OPTIONS...] TIMER-FILE...

Show when timers would elapse: the timers are started on a simulated
clock, at --from, as the manager starts, and each elapse is shown with
the unit it starts and why it fired.

Options:
  -h --help                  Show this help
     --from=TIMESTAMP        Start then (default: now)
     --until=TIMESTAMP       Stop then
     --iterations=N          Stop after N elapses (default: 10, or none
                             with --until); 0 for no limit, with --until
     --uptime=SPAN           How long the machine has been up at --from,
                             for OnBootSec= (default: 0)
     --service-runtime=SPAN  How long each unit started runs (default: 0)
     --machine-id=ID         The machine ID FixedRandomDelay= derives its
                             delays from (default: this machine's)
     --boot-id=ID            The boot ID that places coalesced elapses
                             (default: this boot's)
     --seed=N                Draw random delays from a generator seeded
                             with N (default: at random)
     --system                Simulate the system manager (default)
     --user                  Simulate a user manager

A file named DIR/NAME@INSTANCE.timer that does not exist stands for the
instance of the template DIR/NAME@.timer.
`

// simulator holds the options of the simulate verb.
type simulator struct {
	*cli
	from, until       time.Time
	iterations        uint
	iterationsSet     bool
	uptime, runtime   timespan.Span
	machineID, bootID *[16]byte
	seed              *uint64
	user              bool
}

func simulateMain(c *cli, args []string) int {
	fs := c.flags()
	switchOption(fs, "help", "h")
	for _, name := range []string{"from", "until", "iterations", "uptime", "service-runtime", "machine-id", "boot-id", "seed"} {
		fs.String(name, "", "")
	}
	switchOption(fs, "system", "")
	switchOption(fs, "user", "")
	s := simulator{cli: c, iterations: 10}
	ok, status := c.parse(fs, args, func(name, value string) error {
		switch name {
		case "help":
			fmt.Fprintf(c.stdout, simulateUsage, c.prog)
			return errDone
		case "from", "until":
			t, perr := timespan.ParseTimestamp(value, now())
			if perr != nil {
				return usageError(fmt.Sprintf("Failed to parse --%s= parameter: %s", name, value))
			}
			if name == "from" {
				s.from = t
			} else {
				s.until = t
			}
		case "iterations":
			n, ok := parseUnsigned(value)
			if !ok {
				return usageError("Failed to parse iterations: " + value)
			}
			s.iterations, s.iterationsSet = n, true
		case "uptime", "service-runtime":
			v, perr := timespan.Parse(value)
			if perr != nil || v == timespan.Infinity {
				return usageError(fmt.Sprintf("Failed to parse --%s= parameter: %s", name, value))
			}
			if name == "uptime" {
				s.uptime = v
			} else {
				s.runtime = v
			}
		case "machine-id", "boot-id":
			id, perr := timer.ParseID(value)
			if perr != nil {
				return usageError(fmt.Sprintf("Failed to parse --%s= parameter: %s", name, value))
			}
			if name == "machine-id" {
				s.machineID = &id
			} else {
				s.bootID = &id
			}
		case "seed":
			n, perr := strconv.ParseUint(value, 10, 64)
			if perr != nil {
				return usageError("Failed to parse --seed= parameter: " + value)
			}
			s.seed = &n
		case "system":
			s.user = false
		case "user":
			s.user = true
		}
		return nil
	})
	if !ok {
		return status
	}
	if fs.NArg() == 0 {
		c.errorf("Too few arguments.")
		return 1
	}
	if s.iterationsSet && s.iterations == 0 && s.until.IsZero() {
		// A monotonic timer would go on for ever.
		c.errorf("--iterations=0 simulates without end; give --until= as well.")
		return 1
	}
	return s.run(fs.Args())
}

func (s *simulator) run(files []string) int {
	if s.from.IsZero() {
		s.from = now()
	}
	until := uint64(timer.Infinity)
	if !s.until.IsZero() {
		until = uint64(s.until.UnixMicro())
		if !s.iterationsSet {
			s.iterations = 0
		}
	}
	machineID := s.hostID(s.machineID, "/etc/machine-id")
	bootID := s.hostID(s.bootID, "/proc/sys/kernel/random/boot_id")
	if s.bootID == nil && bootID == ([16]byte{}) {
		bootID = machineID // as sd-event falls back
	}
	seed := rand.Uint64()
	if s.seed != nil {
		seed = *s.seed
	}
	rng := rand.New(rand.NewPCG(seed, 0))

	rt := uint64(max(s.from.UnixMicro(), 0))
	up := uint64(s.uptime)
	start := timer.Instant{Realtime: rt, Monotonic: up, Boottime: up}
	e := &timer.Engine{
		Location:     time.Local,
		Startup:      start,
		MachineID:    machineID,
		User:         s.user,
		UID:          uint32(os.Getuid()),
		Perturbation: timer.Perturbation(bootID),
		Rand:         rng.Uint64,
		Log: func(t *timer.Timer, level slog.Level, msg string) {
			if level >= slog.LevelWarn {
				s.errorf("%s: %s", t.Name, msg)
			}
		},
	}
	if !s.user {
		e.UID = 0
	}
	sim := &timer.Simulation{Engine: e, Now: start, Runtime: uint64(s.runtime)}
	failed := false
	for _, f := range files {
		u, ok := s.load(f)
		if !ok {
			failed = true
			continue
		}
		sim.Add(u.Name, u.Timer)
	}
	if failed {
		return 1
	}
	for _, t := range sim.Timers() {
		t.Start(sim.Now, 0)
	}
	var elapses []timer.Elapse
	sim.Run(until, func(el timer.Elapse) bool {
		elapses = append(elapses, el)
		return s.iterations == 0 || uint(len(elapses)) < s.iterations
	})
	s.print(elapses)
	return 0
}

// hostID returns the ID given, else the one in file, else zeros.
func (s *simulator) hostID(given *[16]byte, file string) [16]byte {
	if given != nil {
		return *given
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return [16]byte{}
	}
	id, err := timer.ParseID(string(data))
	if err != nil {
		return [16]byte{}
	}
	return id
}

// load loads a timer from its file, logging what is wrong with it as
// verify does.
func (s *simulator) load(file string) (*unit.Unit, bool) {
	abs, err := filepath.Abs(file)
	if err != nil {
		s.errorf("Failed to load %s: %v", file, err)
		return nil, false
	}
	name := filepath.Base(abs)
	n, err := unit.ParseName(name)
	switch {
	case err != nil:
		s.errorf("Failed to load %s: not a unit file name", file)
		return nil, false
	case n.Type != unit.Timer:
		s.errorf("Failed to load %s: %s is not a timer", file, name)
		return nil, false
	case n.Template:
		s.errorf("Failed to load %s: %s is a template; name an instance, as %s", file, name, strings.Replace(name, "@.", "@INSTANCE.", 1))
		return nil, false
	}
	l := &unit.Loader{Path: []string{filepath.Dir(abs)}}
	u, err := l.Load(name)
	if err != nil {
		s.errorf("Failed to load %s: %v", file, err)
		return nil, false
	}
	for _, d := range u.Diagnostics {
		s.errorf("%s", d)
	}
	if msg := u.LoadStateMessage(); msg != "" {
		s.errorf("%s", msg)
		return nil, false
	}
	return u, true
}

// print writes the elapses as a table, with a line where the local
// time's offset changed since the start or the elapse before.
func (s *simulator) print(elapses []timer.Elapse) {
	rows := [][]string{{"TIME", "TIMER", "ACTIVATES", "REASON"}}
	notes := map[int]string{}
	prev := s.from.In(time.Local)
	for _, el := range elapses {
		at := time.UnixMicro(int64(el.At.Realtime)).In(time.Local)
		if change, ok := offsetChange(prev, at); ok {
			notes[len(rows)] = change
		}
		prev = at
		reason := el.Reason.String()
		if !el.Started {
			reason += ", unit still running"
		}
		rows = append(rows, []string{timespan.FormatTimestamp(at, timespan.Pretty), el.Timer.Name, el.Unit, reason})
	}
	var b strings.Builder
	for i, line := range tableLines(rows, "  ", nil) {
		if note, ok := notes[i]; ok {
			b.WriteString(note + "\n")
		}
		b.WriteString(line + "\n")
	}
	fmt.Fprintf(&b, "\n%d elapses listed.\n", len(elapses))
	fmt.Fprint(s.stdout, b.String())
}

// offsetChange finds where the local time's offset from UTC changed
// between a and b, and describes it: "-- Sun 2024-03-31 03:00:00 CEST:
// clocks went forward 1h".
func offsetChange(a, b time.Time) (string, bool) {
	_, oa := a.Zone()
	_, ob := b.Zone()
	if oa == ob {
		return "", false
	}
	// The first second with b's offset.
	lo, hi := a.Unix(), b.Unix()
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if _, o := time.Unix(mid, 0).In(b.Location()).Zone(); o == oa {
			lo = mid
		} else {
			hi = mid
		}
	}
	d := timespan.Span(ob-oa) * timespan.Second
	dir := "forward"
	if ob < oa {
		d, dir = timespan.Span(oa-ob)*timespan.Second, "back"
	}
	at := time.Unix(hi, 0).In(b.Location())
	return fmt.Sprintf("-- %s: clocks went %s %s", timespan.FormatTimestamp(at, timespan.Pretty), dir, d), true
}
