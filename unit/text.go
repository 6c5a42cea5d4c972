package unit

import "testing/fstest"

// SettingParser returns the name of systemd's parser of Key= in
// [Section] (its config_parse_ function, without the prefix: "bool",
// "sec", "exec", "environ", …), or "" for a setting systemd does not
// know there, or ignores.
func SettingParser(section, key string) string {
	return knownSettings[section+"."+key].parser
}

// ParseText parses text as the file of the unit called name, alone in
// its directory, as Load would read it there: no drop-ins, and the units
// it names left unchecked. Each diagnostic of its settings is at the
// line of text it is about. The error is for names that are not unit
// names.
func ParseText(name, text string, scope RuntimeScope) (*Unit, error) {
	l := Loader{FS: fstest.MapFS{"u/" + name: {Data: []byte(text)}}, Path: []string{"/u"}, Scope: scope}
	u, _, err := l.load(name, true, false)
	return u, err
}
