package unit

// An expander expands the specifiers of a unit's settings, as the
// functions of systemd's unit-printf.c do for the unit being loaded.
type expander interface {
	full(s string) (string, error) // unit_full_printf
	path(s string) (string, error) // unit_path_printf
	name(s string) (string, error) // unit_name_printf
	env(s string) (string, error)  // unit_env_printf
}
