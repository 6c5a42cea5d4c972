package unit

// A Set is units loaded together, as systemd's manager loads them: a unit
// brings in the units it names (its dependencies, the unit a timer
// triggers) and those systemd adds by default, each loaded once.
type Set struct {
	Loader *Loader
	// Shallow loads the units named alone.
	Shallow bool

	byName map[string]*Unit
	order  []*Unit
}

// Load loads the unit called name, if not loaded yet, and the units it
// brings in.
func (s *Set) Load(name string) (*Unit, error) {
	if u, ok := s.byName[name]; ok {
		return u, nil
	}
	u, _, err := s.Loader.load(name, s.Shallow, false)
	if err != nil {
		return nil, err
	}
	if s.byName == nil {
		s.byName = map[string]*Unit{}
	}
	for _, n := range append([]string{name}, u.Names...) {
		s.byName[n] = u
	}
	s.order = append(s.order, u)
	if s.Shallow {
		return u, nil
	}
	for _, dep := range u.allDeps(s.Loader.Scope) {
		for _, n := range dep.names {
			if _, err := s.Load(n); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

// Units returns the units loaded, in the order they were.
func (s *Set) Units() []*Unit { return s.order }

// Unit returns the loaded unit called name, or nil.
func (s *Set) Unit(name string) *Unit { return s.byName[name] }

// A dep is one kind of dependency of a unit on others.
type dep struct {
	kind  string // "Requires", "After", …
	names []string
}

// allDeps returns the unit's dependencies: those of its files (as far as
// they were read), and once they were read whole, the unit a timer
// triggers and those systemd adds by default, even if the unit is then
// refused.
func (u *Unit) allDeps(scope RuntimeScope) []dep {
	var deps []dep
	for _, k := range depKinds {
		if names := u.Unit.Deps[k]; len(names) > 0 {
			deps = append(deps, dep{k, names})
		}
	}
	if !u.parsed {
		return deps
	}
	if u.Timer != nil {
		deps = append(deps, dep{"Triggers", []string{u.Timer.Unit}}, dep{"Before", []string{u.Timer.Unit}})
	}
	if !u.Unit.DefaultDependencies {
		return deps
	}
	switch {
	case u.Type == Timer:
		deps = append(deps, dep{"Before", []string{"timers.target"}})
		if scope == SystemScope {
			deps = append(deps, dep{"Requires", []string{"sysinit.target"}}, dep{"After", []string{"sysinit.target"}})
			for _, v := range u.Timer.Values {
				if v.Base == OnCalendar {
					deps = append(deps, dep{"After", []string{"time-sync.target", "time-set.target"}})
					break
				}
			}
		}
		deps = append(deps, dep{"Conflicts", []string{"shutdown.target"}}, dep{"Before", []string{"shutdown.target"}})
	case u.Type == Service:
		if scope == SystemScope {
			deps = append(deps, dep{"Requires", []string{"sysinit.target"}}, dep{"After", []string{"sysinit.target"}})
		} else {
			deps = append(deps, dep{"Requires", []string{"basic.target"}})
		}
		deps = append(deps, dep{"After", []string{"basic.target"}},
			dep{"Conflicts", []string{"shutdown.target"}}, dep{"Before", []string{"shutdown.target"}})
	}
	return deps
}

// depKinds are the dependency settings in the order systemd's
// UnitDependency lists them.
var depKinds = []string{"Requires", "Requisite", "Wants", "BindsTo", "PartOf", "Upholds",
	"Conflicts", "Before", "After", "OnSuccess", "OnFailure", "PropagatesReloadTo",
	"ReloadPropagatedFrom", "PropagatesStopTo", "StopPropagatedFrom", "JoinsNamespaceOf"}

// StartError returns why systemd could not start u: the message of its
// start job when a unit it requires, or binds to, did not load, as
// "Unit sysinit.target not found.". It is "" when the job can be made.
func (s *Set) StartError(u *Unit) string {
	seen := map[*Unit]bool{}
	var visit func(u *Unit) string
	visit = func(u *Unit) string {
		if seen[u] {
			return ""
		}
		seen[u] = true
		if msg := u.LoadStateMessage(); msg != "" {
			return msg
		}
		for _, d := range u.allDeps(s.Loader.Scope) {
			if d.kind != "Requires" && d.kind != "BindsTo" {
				continue
			}
			for _, n := range d.names {
				if other := s.byName[n]; other != nil {
					if msg := visit(other); msg != "" {
						return msg
					}
				}
			}
		}
		return ""
	}
	return visit(u)
}

// LoadStateMessage returns systemd's message for a unit that did not
// load, "" for one that did.
func (u *Unit) LoadStateMessage() string {
	switch u.LoadState {
	case NotFound:
		return "Unit " + u.Name + " not found."
	case BadSetting:
		return "Unit " + u.Name + " has a bad unit file setting."
	case LoadError:
		return "Unit " + u.Name + " failed to load properly, please adjust/correct and reload service manager: " + strerror(u.LoadError)
	case Masked:
		return "Unit " + u.Name + " is masked."
	}
	return ""
}
