package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"sundial.dev/sundial/internal/api"
)

// depKinds are the dependencies list-dependencies follows, as
// unit_get_dependencies asks for them: with --reverse the units that
// depend on the unit, with --after or --before the ordering.
func (o *systemctlOptions) depKinds() []string {
	switch {
	case o.after:
		return []string{"After"}
	case o.before:
		return []string{"Before"}
	case o.reverse:
		return []string{"RequiredBy", "RequisiteOf", "WantedBy", "ConsistsOf", "BoundBy", "UpheldBy"}
	}
	return []string{"Requires", "Requisite", "Wants", "ConsistsOf", "BindsTo", "Upholds"}
}

// A depTree draws list-dependencies, asking the daemon for each unit's
// properties once.
type depTree struct {
	c      *cli
	o      *systemctlOptions
	client *api.Client
	units  map[string]api.Unit
	b      strings.Builder
}

// listDependencies is systemctl list-dependencies, as
// verb_list_dependencies draws it: default.target without a unit;
// targets are followed, other units only with --all; a unit already on
// the way down is shown as "...".
func listDependencies(c *cli, o *systemctlOptions, _ string, patterns []string) int {
	ctx := context.Background()
	client := o.client()
	names := []string{"default.target"}
	if len(patterns) > 0 {
		var err error
		names, err = expand(ctx, client, o.mangle(c, "", patterns))
		if err != nil {
			return o.failed(c, client, "expand names", err)
		}
	}
	t := &depTree{c: c, o: o, client: client, units: map[string]api.Unit{}}
	for i, n := range names {
		if i > 0 {
			t.b.WriteString("\n")
		}
		t.b.WriteString(n + "\n")
		var path []string
		if err := t.one(n, 0, &path, 0); err != nil {
			return o.failed(c, client, "get dependencies", err)
		}
	}
	fmt.Fprint(c.stdout, t.b.String())
	return 0
}

// unit returns a unit with its properties.
func (t *depTree) unit(name string) (api.Unit, error) {
	if u, ok := t.units[name]; ok {
		return u, nil
	}
	us, err := t.client.Units(context.Background(), []string{name}, true)
	if err != nil || len(us) == 0 {
		return api.Unit{Name: name, Active: "inactive"}, err
	}
	t.units[name] = us[0]
	return us[0], nil
}

// one draws the dependencies of name at a level, as
// list_dependencies_one: branches has a bit for each level above that
// has more to come.
func (t *depTree) one(name string, level int, path *[]string, branches uint) error {
	*path = append(*path, name)
	u, err := t.unit(name)
	if err != nil {
		return err
	}
	var deps []string
	for _, p := range u.Properties {
		if slices.Contains(t.o.depKinds(), p.Name) && p.Value != "" {
			for _, d := range strings.Fields(p.Value) {
				if !slices.Contains(deps, d) {
					deps = append(deps, d)
				}
			}
		}
	}
	// As list_dependencies_compare: targets last, then by name.
	slices.SortFunc(deps, func(a, b string) int {
		if at, bt := strings.HasSuffix(a, ".target"), strings.HasSuffix(b, ".target"); at != bt {
			if at {
				return 1
			}
			return -1
		}
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	})
	plain := t.o.plain || len(t.o.types) > 0 || len(t.o.states) > 0
	for i, d := range deps {
		last := i == len(deps)-1
		more := branches << 1
		if !last {
			more |= 1
		}
		if slices.Contains(*path, d) {
			if !plain {
				t.b.WriteString("  ")
				t.line("...", level+1, more, true)
			}
			continue
		}
		if len(t.o.types) > 0 && !slices.Contains(t.o.types, strings.TrimPrefix(d[strings.LastIndexByte(d, '.'):], ".")) {
			continue
		}
		du, err := t.unit(d)
		if err != nil {
			return err
		}
		if len(t.o.states) > 0 && !slices.Contains(t.o.states, du.Active) && !slices.Contains(t.o.states, du.Load) && !slices.Contains(t.o.states, du.Sub) {
			continue
		}
		if plain {
			t.b.WriteString("  ")
		} else {
			t.b.WriteString(glyph(du.Active) + " ")
		}
		t.line(d, level, branches, last)
		if t.o.all || strings.HasSuffix(d, ".target") {
			if err := t.one(d, level+1, path, more); err != nil {
				return err
			}
		}
	}
	if !plain {
		*path = slices.DeleteFunc(*path, func(n string) bool { return n == name })
	}
	return nil
}

// line draws a name with the tree before it, as list_dependencies_print
// with --full: the name is not shortened.
func (t *depTree) line(name string, level int, branches uint, last bool) {
	if !(t.o.plain || len(t.o.types) > 0 || len(t.o.states) > 0) {
		for i := level - 1; i >= 0; i-- {
			if branches&(1<<i) != 0 {
				t.b.WriteString(treeVertical())
			} else {
				t.b.WriteString("  ")
			}
		}
		if last {
			t.b.WriteString(treeRight())
		} else {
			t.b.WriteString(treeBranch())
		}
	}
	t.b.WriteString(name + "\n")
}

// treeVertical is systemd's SPECIAL_GLYPH_TREE_VERTICAL.
func treeVertical() string {
	if utf8Locale() {
		return "│ "
	}
	return "| "
}
