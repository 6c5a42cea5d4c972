package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestCronPairsAgree checks that the two expressions of each pair name the
// same elapses, so that the comparison weighs the same work: from random
// instants of 1971 to 2090 (robfig/cron looks no more than five years
// ahead, and 2100 is no leap year), and from each minute of the hours
// around every daylight-saving change of cronZone in those years.
//
// They differ in one place, which the test allows for: where clocks are set
// back, robfig/cron walks the repeated hour twice, systemd once, so that an
// elapse robfig/cron finds in the second pass of the hour is the next one
// after the hour for sundial.
func TestCronPairsAgree(t *testing.T) {
	loc, err := time.LoadLocation(cronZone)
	if err != nil {
		t.Fatal(err)
	}
	from, until := time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	var starts []time.Time
	for range 20000 {
		starts = append(starts, from.Add(time.Duration(rng.Int64N(int64(until.Sub(from))))))
	}
	var changes []time.Time
	for at := from.In(loc); ; {
		_, end := at.ZoneBounds()
		if end.IsZero() || end.After(until) {
			break
		}
		// Beyond the zone's last transition, the bounds are those of a
		// year of its rule, sometimes empty: step over those.
		if !end.After(at) {
			end = at.Add(time.Second)
		}
		if _, off := end.Add(-time.Second).Zone(); off != offset(end) {
			changes = append(changes, end)
		}
		at = end
	}
	if len(changes) < 200 {
		t.Fatalf("%d changes of %s from 1971 to 2090", len(changes), cronZone)
	}
	for _, c := range changes {
		for m := -150; m <= 150; m++ {
			starts = append(starts, c.Add(time.Duration(m)*time.Minute+time.Duration(rng.IntN(60))*time.Second).UTC())
		}
	}

	for _, p := range allCronPairs() {
		ours, theirs, err := p.parse()
		if err != nil {
			t.Fatal(err)
		}
		agreed, folds := 0, 0
		for _, at := range starts {
			o, ok1 := ours(at)
			c, ok2 := theirs(at)
			switch {
			case ok1 && ok2 && o.Equal(c):
				agreed++
				continue
			case ok1 && ok2:
				// robfig/cron's second pass of a repeated hour: sundial's
				// elapse is robfig/cron's first after that hour.
				if end, ok := repeatEnd(c.In(loc)); ok {
					if want, _ := theirs(end.Add(-time.Second)); o.Equal(want) {
						folds++
						continue
					}
				}
			}
			t.Errorf("%q and %q from %v: %v (%v) and %v (%v)", p.sundial, p.cron, at, o, ok1, c, ok2)
		}
		t.Logf("%q and %q: %d agree, %d differ in a repeated hour", p.sundial, p.cron, agreed, folds)
	}
}

// repeatEnd returns the end of the second pass of an hour repeated because
// clocks were set back, if t lies in one.
func repeatEnd(t time.Time) (time.Time, bool) {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return time.Time{}, false
	}
	_, before := start.Add(-time.Second).Zone()
	_, now := t.Zone()
	end := start.Add(time.Duration(before-now) * time.Second)
	return end, before > now && t.Before(end)
}

func offset(t time.Time) int {
	_, off := t.Zone()
	return off
}
