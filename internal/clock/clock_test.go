package clock

import (
	"testing"
	"time"
)

func TestRealNow(t *testing.T) {
	a := Real{}.Now()
	b := Real{}.Now()
	if a.Realtime == 0 || a.Monotonic == 0 || a.Boottime < a.Monotonic {
		t.Fatalf("Now() = %+v", a)
	}
	if b.Monotonic < a.Monotonic || b.Boottime < a.Boottime {
		t.Errorf("clocks went back: %+v then %+v", a, b)
	}
}

func TestRealAfter(t *testing.T) {
	c, stop := Real{}.After(time.Millisecond)
	<-c
	if stop() {
		t.Error("stop() after firing = true")
	}
	if _, ok := Or(nil).(Real); !ok {
		t.Error("Or(nil) is not Real")
	}
}
