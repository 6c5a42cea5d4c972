package timespan_test

import (
	"errors"
	"fmt"
	"time"

	"sundial.dev/sundial/timespan"
)

func ExampleParse() {
	for _, s := range []string{"1.5h", "2weeks 3d", "90", "5M", "5m", "infinity"} {
		d, err := timespan.Parse(s)
		fmt.Println(s, "=", uint64(d), d, err)
	}
	// Output:
	// 1.5h = 5400000000 1h 30min <nil>
	// 2weeks 3d = 1468800000000 2w 3d <nil>
	// 90 = 90000000 1min 30s <nil>
	// 5M = 13149000000000 5month <nil>
	// 5m = 300000000 5min <nil>
	// infinity = 18446744073709551615 infinity <nil>
}

func ExampleParse_error() {
	_, err := timespan.Parse("5secs")
	fmt.Println(err)
	_, err = timespan.Parse("-5s")
	fmt.Println(errors.Is(err, timespan.ErrRange))
	// Output:
	// timespan: bad time span "5secs": column 2: unknown unit "secs"
	// true
}

func ExampleParseUnit() {
	d, _ := timespan.ParseUnit("500", timespan.Millisecond)
	fmt.Println(d)
	// Output: 500ms
}

func ExampleParseNanoseconds() {
	ns, _ := timespan.ParseNanoseconds("1.5us")
	fmt.Println(ns)
	ns, _ = timespan.ParseNanoseconds("50")
	fmt.Println(ns)
	// Output:
	// 1500
	// 50
}

func ExampleSpan_Format() {
	d, _ := timespan.Parse("1d 1h 1min 1.001001s")
	fmt.Println(d.Format(0))
	fmt.Println(d.Format(timespan.Millisecond))
	fmt.Println(d.Format(timespan.Minute))
	// Output:
	// 1d 1h 1min 1.001001s
	// 1d 1h 1min 1.001s
	// 1d 1h 1min
}

func ExampleSpan_String() {
	fmt.Println(timespan.Span(1500) * timespan.Millisecond)
	fmt.Println(365 * timespan.Day)
	// Output:
	// 1.500000s
	// 11month 4w 2d 4h 30min
}

func ExampleParseTimestamp() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2024, 1, 15, 9, 30, 0, 0, berlin)
	for _, s := range []string{"2024-03-31 02:30", "tomorrow", "Fri 2024-01-19 18:00", "3h ago", "2024-01-20 12:00 UTC", "@1700000000"} {
		t, err := timespan.ParseTimestamp(s, now)
		fmt.Printf("%-22s %s %v\n", s, timespan.FormatTimestamp(t, timespan.Pretty), err)
	}
	// Output:
	// 2024-03-31 02:30       Sun 2024-03-31 03:30:00 CEST <nil>
	// tomorrow               Tue 2024-01-16 00:00:00 CET <nil>
	// Fri 2024-01-19 18:00   Fri 2024-01-19 18:00:00 CET <nil>
	// 3h ago                 Mon 2024-01-15 06:30:00 CET <nil>
	// 2024-01-20 12:00 UTC   Sat 2024-01-20 13:00:00 CET <nil>
	// @1700000000            Tue 2023-11-14 23:13:20 CET <nil>
}

func ExampleFormatTimestamp() {
	t := time.Date(2023, 10, 30, 3, 0, 0, 250000000, time.FixedZone("CET", 3600))
	for _, style := range []timespan.Style{timespan.Pretty, timespan.Micro, timespan.UTC, timespan.Unix, timespan.Date} {
		fmt.Println(timespan.FormatTimestamp(t, style))
	}
	fmt.Printf("%q\n", timespan.FormatTimestamp(time.Time{}, timespan.Pretty))
	// Output:
	// Mon 2023-10-30 03:00:00 CET
	// Mon 2023-10-30 03:00:00.250000 CET
	// Mon 2023-10-30 02:00:00 UTC
	// @1698631200
	// Mon 2023-10-30
	// ""
}

func ExampleFormatRelative() {
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	fmt.Println(timespan.FormatRelative(now.Add(39*time.Hour), now))
	fmt.Println(timespan.FormatRelative(now.Add(-90*time.Second), now))
	// Output:
	// 1 day 15h left
	// 1min 30s ago
}

func ExampleFormatLeft() {
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	fmt.Println(timespan.FormatLeft(now.Add(5*time.Hour), now))
	fmt.Println(timespan.FormatLeft(now.Add(-5*time.Hour), now))
	// Output:
	// 5h 0min
	// 5h 0min ago
}

func ExampleIsSet() {
	fmt.Println(timespan.IsSet(time.Time{}), timespan.IsSet(time.Unix(0, 0)), timespan.IsSet(time.Unix(1, 0)))
	// Output: false false true
}

// A time that falls into the gap when clocks are set forward is read with
// the offset before it (CET), and moves forward. A time that occurs twice
// takes the offset used last, here the same CET.
func ExampleResolver_Resolve() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var r timespan.Resolver
	for _, c := range []timespan.Civil{
		{Year: 2023, Month: 3, Day: 26, Hour: 2, Minute: 30, IsDST: -1},  // in the gap
		{Year: 2023, Month: 10, Day: 29, Hour: 2, Minute: 30, IsDST: -1}, // occurs twice
		{Year: 2023, Month: 2, Day: 30, Hour: 12, IsDST: -1},             // March 2
	} {
		sec, _ := r.Resolve(&c, berlin)
		fmt.Printf("%d-%02d-%02d %02d:%02d %s = %d\n", c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Zone, sec)
	}
	// Output:
	// 2023-03-26 03:30 CEST = 1679794200
	// 2023-10-29 02:30 CET = 1698543000
	// 2023-03-02 12:00 CET = 1677754800
}

func ExampleCivilTime() {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	c := timespan.CivilTime(1700000000, tokyo)
	fmt.Println(c.Year, c.Month, c.Day, c.Hour, c.Weekday, c.Zone, c.Offset)
	// Output: 2023 11 15 7 Wednesday JST 32400
}

func ExampleRule() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	fmt.Printf("%+v\n", timespan.Rule(berlin))
	fmt.Println(timespan.Rule(time.UTC).IsUTC())
	// Output:
	// {Std:CET DST:CEST StdOffset:3600 DSTOffset:7200}
	// true
}

func ExampleLoadLocation() {
	_, err := timespan.LoadLocation("Europe/berlin")
	fmt.Println(err != nil)
	loc, err := timespan.LoadLocation("Asia/Kathmandu")
	fmt.Println(loc, err)
	// Output:
	// true
	// Asia/Kathmandu <nil>
}

func ExampleLocationFromTZ() {
	loc := timespan.LocationFromTZ("CET-1CEST,M3.5.0,M10.5.0/3")
	fmt.Println(timespan.FormatTimestamp(time.Unix(1720000000, 0).In(loc), timespan.Pretty))
	// Output: Wed 2024-07-03 11:46:40 CEST
}

func ExampleAppendTimestamp() {
	b := []byte("next: ")
	b = timespan.AppendTimestamp(b, time.Unix(1700000000, 0).UTC(), timespan.UTC)
	fmt.Println(string(b))
	// Output: next: Tue 2023-11-14 22:13:20 UTC
}

func ExampleAppendRelative() {
	now := time.Unix(1700000000, 0)
	b := timespan.AppendRelative([]byte("due "), now.Add(90*time.Minute), now)
	fmt.Println(string(b))
	// Output: due 1h 30min left
}

func ExampleSpan_AppendFormat() {
	b := (90 * timespan.Second).AppendFormat([]byte("every "), 0)
	fmt.Println(string(b))
	// Output: every 1min 30s
}

func ExampleSpan_Duration() {
	d, ok := (1500 * timespan.Millisecond).Duration()
	fmt.Println(d, ok)
	_, ok = timespan.Infinity.Duration()
	fmt.Println(ok)
	fmt.Println(timespan.FromDuration(90 * time.Second))
	// Output:
	// 1.5s true
	// false
	// 1min 30s
}

func ExampleValidZoneName() {
	fmt.Println(timespan.ValidZoneName("Europe/Berlin"), timespan.ValidZoneName("/etc/localtime"), timespan.ValidZoneName("Europe//Berlin"))
	// Output: true false false
}
