package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sundial.dev/sundial/internal/api"
)

// listUnitFiles is systemctl list-unit-files, as verb_list_unit_files
// shows the unit files the daemon finds: by type, then by name, with
// the preset of each, and exit status 1 when none is listed.
func listUnitFiles(c *cli, o *systemctlOptions, _ string, patterns []string) int {
	client := o.client()
	files, err := client.UnitFileList(context.Background())
	if err != nil {
		return o.failed(c, client, "list unit files", err)
	}
	files = slices.DeleteFunc(files, func(f api.UnitFile) bool {
		name := filepath.Base(f.Path)
		if len(patterns) > 0 && !slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, name); return ok }) {
			return true
		}
		if len(o.types) > 0 && !slices.Contains(o.types, strings.TrimPrefix(path.Ext(name), ".")) {
			return true
		}
		return len(o.states) > 0 && !slices.Contains(o.states, f.State)
	})
	// As compare_unit_file_list: by the suffix, then by the name, both
	// without regard to case.
	slices.SortStableFunc(files, func(a, b api.UnitFile) int {
		an, bn := strings.ToLower(filepath.Base(a.Path)), strings.ToLower(filepath.Base(b.Path))
		if r := strings.Compare(path.Ext(an), path.Ext(bn)); r != 0 {
			return r
		}
		return strings.Compare(an, bn)
	})
	presets := loadPresets(o.user)
	rows := [][]string{{"UNIT FILE", "STATE", "PRESET"}}
	for _, f := range files {
		name, preset := filepath.Base(f.Path), "-"
		switch f.State {
		case "alias", "static", "generated", "transient":
			// show_preset_for_state leaves these out.
		default:
			preset = presets.query(name)
		}
		rows = append(rows, []string{name, f.State, preset})
	}
	if !o.legend {
		rows = rows[1:]
	}
	if len(rows) > 0 {
		writeTable(c, rows, nil)
	}
	if o.legend {
		fmt.Fprintf(c.stdout, "\n%d unit files listed.\n", len(files))
	}
	if len(files) == 0 {
		return 1
	}
	return 0
}

// A presetRule is a line of a preset file: enable, disable or ignore,
// and the pattern of the unit names it is for.
type presetRule struct{ action, pattern string }

type presets []presetRule

// presetDirs are where systemd reads presets from, highest priority
// first.
func presetDirs(user bool) []string {
	kind := "system-preset"
	if user {
		kind = "user-preset"
	}
	var dirs []string
	for _, base := range []string{"/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd", "/lib/systemd"} {
		dirs = append(dirs, base+"/"+kind)
	}
	return dirs
}

// loadPresets reads the *.preset files of the preset directories, as
// read_presets in shared/install.c: a file's name in a directory of
// higher priority hides the same name in the others, and the files are
// read in the order of their names. Lines it cannot read are left out,
// as systemd skips them with a warning.
func loadPresets(user bool) presets {
	files := map[string]string{}
	for _, dir := range presetDirs(user) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if n := e.Name(); strings.HasSuffix(n, ".preset") && files[n] == "" {
				files[n] = filepath.Join(dir, n)
			}
		}
	}
	var rules presets
	for _, name := range slices.Sorted(maps.Keys(files)) {
		f, err := os.Open(files[name])
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
				continue
			}
			switch fields[0] {
			case "enable", "disable", "ignore":
				rules = append(rules, presetRule{fields[0], fields[1]})
			}
		}
		f.Close()
	}
	return rules
}

// query is the preset of a unit, in the past tense list-unit-files
// shows: the action of the first rule that matches its name, and
// enabled where none does, as query_presets decides.
func (p presets) query(name string) string {
	for _, r := range p {
		if ok, _ := path.Match(r.pattern, name); ok {
			switch r.action {
			case "enable":
				return "enabled"
			case "disable":
				return "disabled"
			}
			return "ignored"
		}
	}
	return "enabled"
}
