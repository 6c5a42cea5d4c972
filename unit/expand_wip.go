package unit

// unitExpander returns the expander of u's specifiers.
func (l *Loader) unitExpander(u *Unit) expander { return verbatim{} }

// verbatim leaves values as they are.
type verbatim struct{}

func (verbatim) full(s string) (string, error) { return s, nil }
func (verbatim) path(s string) (string, error) { return s, nil }
func (verbatim) name(s string) (string, error) { return s, nil }
func (verbatim) env(s string) (string, error)  { return s, nil }
