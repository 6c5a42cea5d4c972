// Package timespan reads and writes time spans and timestamps exactly as
// systemd 254 does (parse_time, format_timespan, parse_timestamp and
// format_timestamp in systemd's time-util.c), and resolves wall-clock time
// the way the GNU C library's mktime does, which systemd builds on.
//
// # Time spans
//
// A [Span] counts microseconds up to [Infinity]. [Parse] reads the
// language of systemd.time(7): numbers with optional fractions and units,
// summed ("1h 30min", "1.5h", "2weeks", "90"), where a bare number counts
// seconds. Units are matched by prefix in systemd's order, case-sensitively:
// "M" is a month and "m" a minute, a month is 30.44 days and a year 365.25.
// [Span.Format] prints a span largest unit first, as precisely as an
// accuracy asks ("1h 2min 3.004s").
//
// # Timestamps
//
// [ParseTimestamp] reads absolute forms ("2012-11-23 11:12:13.5"), forms
// relative to a given now ("+5min", "3h ago", "tomorrow"), seconds since the
// epoch ("@1395716396") and an optional trailing zone ("UTC", "+02:00",
// "Asia/Tokyo", or the local zone's own "CET" or "CEST"). [FormatTimestamp]
// prints the styles systemd prints ("Mon 2023-10-30 03:00:00 CET") and
// [FormatRelative] the relative text ("2 days left", "1 day 15h ago").
//
// Like systemd, timestamps count from the Unix epoch in microseconds, and
// both ends of that range, the epoch itself and 2^64-1 µs, mean "unset"
// ([IsSet]).
//
// # Local time
//
// Where a wall-clock time does not exist (clocks are set forward) or exists
// twice (clocks are set back), systemd's answer is whatever mktime does, and
// Go's [time.Date] does not agree with it. A [Resolver] reproduces mktime,
// including its memory of the offset it used last, which decides ambiguous
// times. [Rule] gives the abbreviations and offsets the C library derives
// for a zone (its tzname), and [LoadLocation] loads a zone by name with
// systemd's checks.
package timespan
