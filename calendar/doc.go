// Package calendar parses systemd's calendar event expressions, prints their
// normalized form, and computes when they next elapse, exactly as systemd
// 254 does (calendarspec.c), down to the behaviour of local time at
// daylight-saving changes.
//
// # Syntax
//
// An expression is "[WEEKDAYS] [DATE] [TIME] [ZONE]":
//
//	Mon..Fri *-*-* 03:00        weekdays at 03:00
//	Sat,Sun 10:00               a list of days; the date defaults to *-*-*
//	*-*-01 00:00:00             the first of every month
//	2023-10-31 10:00            once
//	*-02~03                     the third last day of February
//	Mon *-05~07/1               the last Monday in May
//	*:0/15                      every quarter of an hour
//	*-*-* 09..17/2:00           every other hour from 9 to 17
//	*:*:1.5/2.25                fractions of seconds, to the microsecond
//	weekly Pacific/Auckland     a shorthand, in a named zone
//	@1493187147                 seconds since the epoch, in UTC
//
// Weekdays are English names or their three-letter abbreviations, in any
// case, as lists and ranges ("Mon..Wed" or the older "Mon-Wed"). Each field
// of the date (YEAR-MONTH-DAY, or MONTH-DAY) and of the time
// (HOUR:MINUTE[:SECOND]) is "*" or a list of values, ranges "A..B" and
// repetitions "A/R" or "A..B/R". Two-digit years mean 1970 to 2069. A "~"
// in place of the last "-" counts days from the end of the month. The
// shorthands are minutely, hourly, daily, weekly, monthly, quarterly,
// semiannually and yearly (with systemd's spellings annually, anually,
// semi-annually, biannually and bi-annually). The zone is "UTC", a zone
// name, or one of the local zone's abbreviations ("CET", "CEST"), which asks
// for standard or daylight-saving time.
//
// [Parse] reports mistakes as a [*ParseError] with the column, and tells
// numbers out of range ([ErrRange]) and over-long lists ([ErrTooLong]) from
// other mistakes, as systemd does.
//
// # Next elapse
//
// [Spec.Next] searches the wall-clock fields from the year down, resolving
// each candidate as the C library's mktime does. At a spring-forward gap a
// time that does not exist is skipped for that day; at a fall-back overlap
// the repeated hour is walked once only, in the offset the search is in
// when it gets there. Searches end at the year 2199.
package calendar
