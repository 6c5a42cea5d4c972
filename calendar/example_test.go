package calendar_test

import (
	"errors"
	"fmt"
	"time"

	"sundial.dev/sundial/calendar"
)

func ExampleParse() {
	s, err := calendar.Parse("mon..fri 3:00")
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	// Output: Mon..Fri *-*-* 03:00:00
}

func ExampleParse_error() {
	_, err := calendar.Parse("Mon *-*-* 25:00")
	fmt.Println(err)
	var pe *calendar.ParseError
	if errors.As(err, &pe) {
		fmt.Println("column", pe.Offset+1)
	}
	_, err = calendar.Parse("*:0/0")
	fmt.Println(errors.Is(err, calendar.ErrRange))
	// Output:
	// calendar: bad expression "Mon *-*-* 25:00": column 11: hour 25 out of range 0..23
	// column 11
	// true
}

func ExampleParseInLocation() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// CET names Berlin's standard time.
	s, err := calendar.ParseInLocation("2024-01-15 12:00 CET", berlin)
	if err != nil {
		panic(err)
	}
	next, _ := s.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(s, "=", next.UTC())
	// Output: 2024-01-15 12:00:00 CET = 2024-01-15 11:00:00 +0000 UTC
}

func ExampleSpec_Next() {
	s, _ := calendar.Parse("Mon..Fri *-*-* 03:00")
	t := time.Date(2023, 10, 28, 12, 0, 0, 0, time.UTC) // a Saturday
	for range 3 {
		t, _ = s.Next(t)
		fmt.Println(t.Format("Mon 2006-01-02 15:04"))
	}
	// Output:
	// Mon 2023-10-30 03:00
	// Tue 2023-10-31 03:00
	// Wed 2023-11-01 03:00
}

// At a spring-forward gap, a daily time that does not exist is skipped.
func ExampleSpec_Next_gap() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s, _ := calendar.Parse("*-*-* 02:30")
	t := time.Date(2023, 3, 25, 23, 0, 0, 0, berlin)
	for range 2 {
		t, _ = s.Next(t)
		fmt.Println(t.Format("Mon 2006-01-02 15:04 MST"))
	}
	// Output:
	// Mon 2023-03-27 02:30 CEST
	// Tue 2023-03-28 02:30 CEST
}

func ExampleSpec_Next_never() {
	s, _ := calendar.Parse("*-02-30")
	_, ok := s.Next(time.Now())
	fmt.Println(ok)
	// Output: false
}

func ExampleSpec_String() {
	s, _ := calendar.Parse("Sat,Thu,Mon-Wed,Sat-Sun *-1/3-1 9..17/2:00")
	fmt.Println(s.String())
	// Output: Mon..Thu,Sat,Sun *-01/3-01 09..17/2:00:00
}

func ExampleSpec_MarshalText() {
	s, _ := calendar.Parse("weekly")
	b, _ := s.MarshalText()
	fmt.Println(string(b))
	// Output: Mon *-*-* 00:00:00
}

func ExampleSpec_NextErr() {
	s, _ := calendar.Parse("2023-10-27 10:00")
	_, err := s.NextErr(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(errors.Is(err, calendar.ErrNever))
	// Output: true
}

func ExampleSpec_AppendText() {
	s, _ := calendar.Parse("quarterly")
	fmt.Println(string(s.AppendText([]byte("OnCalendar="))))
	// Output: OnCalendar=*-01,04,07,10-01 00:00:00
}

func ExampleSpec_UnmarshalText() {
	var s calendar.Spec
	err := s.UnmarshalText([]byte("Sat,Sun 10:00"))
	fmt.Println(&s, err)
	// Output: Sat,Sun *-*-* 10:00:00 <nil>
}
