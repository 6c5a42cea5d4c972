package service

import (
	"strconv"
	"time"
)

// waitABit lets a running activation get on; tests poll for states with
// it rather than sleep for a set time.
func waitABit() { time.Sleep(5 * time.Millisecond) }

func itoa(n int) string { return strconv.Itoa(n) }
