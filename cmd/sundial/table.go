package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// writeTable writes rows as systemd's tables: each column as wide as its
// widest cell, one space between, right-aligned where right says, no
// trailing spaces.
func writeTable(c *cli, rows [][]string, right map[int]bool) {
	fmt.Fprint(c.stdout, strings.Join(tableLines(rows, " ", right), "\n")+"\n")
}

// tableLines lays rows out in columns as wide as their widest cell,
// separated by sep, right-aligned where right says, without trailing
// spaces.
func tableLines(rows [][]string, sep string, right map[int]bool) []string {
	var widths []int
	for _, r := range rows {
		for i, f := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(f))
		}
	}
	lines := make([]string, len(rows))
	for n, r := range rows {
		var line strings.Builder
		for i, f := range r {
			if i > 0 {
				line.WriteString(sep)
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(f))
			if right[i] {
				line.WriteString(pad + f)
			} else {
				line.WriteString(f + pad)
			}
		}
		lines[n] = strings.TrimRight(line.String(), " ")
	}
	return lines
}
