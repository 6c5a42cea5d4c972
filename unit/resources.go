package unit

import (
	"math"
	"slices"
	"strings"
)

// ParsePermyriad reads a share as systemd's parse_permyriad: "N%" with
// up to two decimals, "N‰" with up to one, or "N‱", at most 100%; it
// returns ten-thousandths. The number is read as C's strtol with base 0
// reads it. Its errors are EINVAL and ERANGE.
func ParsePermyriad(s string) (int, error) {
	n, err := parsePermyriadUnbounded(s)
	if err == nil && n > 10000 {
		return 0, eRANGE
	}
	return n, err
}

// parsePermyriadUnbounded is parse_permyriad_unbounded: ParsePermyriad
// without the bound of 100%.
func parsePermyriadUnbounded(s string) (int, error) {
	num, decimals := "", 0
	switch {
	case strings.HasSuffix(s, "‱"):
		num = strings.TrimSuffix(s, "‱")
	case strings.HasSuffix(s, "‰"):
		num, decimals = strings.TrimSuffix(s, "‰"), 1
	case strings.HasSuffix(s, "%"):
		num, decimals = strings.TrimSuffix(s, "%"), 2
	default:
		return 0, eINVAL
	}
	q := 0
	if decimals > 0 {
		if whole, frac, ok := strings.Cut(num, "."); ok {
			if frac == "" || len(frac) > decimals || strings.Trim(frac, "0123456789") != "" {
				return 0, eINVAL
			}
			for len(frac) < decimals {
				frac += "0"
			}
			for i := range len(frac) {
				q = q*10 + int(frac[i]-'0')
			}
			num = whole
		}
	}
	v, err := SafeAtoi(num)
	switch {
	case err != nil:
		return 0, err
	case v < 0:
		return 0, eRANGE
	}
	scale := [...]int{1, 10, 100}[decimals]
	if v > (math.MaxInt32-q)/scale {
		return 0, eRANGE
	}
	return v*scale + q, nil
}

// memoryMayBeZero are the memory settings that take 0, as
// config_parse_memory_limit lists them (with its misspelling, which
// leaves DefaultStartupMemoryLow=0 out of range).
var memoryMayBeZero = []string{"MemorySwapMax", "StartupMemorySwapMax", "MemoryZSwapMax", "StartupMemoryZSwapMax",
	"MemoryLow", "StartupMemoryLow", "MemoryMin", "DefaultMemoryLow", "DefaultstartupMemoryLow", "DefaultMemoryMin"}

// memoryLimitSetting is config_parse_memory_limit: bytes, a share of
// the machine's memory, or "infinity"; empty is no limit, or no
// protection for the settings of a minimum.
func memoryLimitSetting(c *settingCtx, a *Assignment) error {
	l := MemoryLimit{Bytes: CGroupLimitMax}
	switch v := a.Value; {
	case v == "" && slices.Contains([]string{"DefaultMemoryLow", "DefaultMemoryMin", "MemoryLow", "StartupMemoryLow", "MemoryMin"}, a.Key):
		l.Bytes = 0
	case v != "" && v != "infinity":
		if p, err := ParsePermyriad(v); err == nil {
			l = MemoryLimit{Permyriad: p}
		} else if l.Bytes, err = ParseSize(v, 1024); err != nil {
			c.warn(a, "Invalid memory limit '%s', ignoring: %s", v, strerror(err))
			return nil
		}
		if l.Bytes == math.MaxUint64 || l.Bytes == 0 && l.Permyriad == 0 && !slices.Contains(memoryMayBeZero, a.Key) {
			c.warn(a, "Memory limit '%s' out of range, ignoring.", v)
			return nil
		}
	}
	if a.Key == "MemoryLimit" {
		c.warn(a, "Unit uses MemoryLimit=; please use MemoryMax= instead. Support for MemoryLimit= will be removed soon.")
	}
	x := c.confinement()
	if x.Memory == nil {
		x.Memory = map[string]MemoryLimit{}
	}
	x.Memory[a.Key] = l
	return nil
}

// cpuQuotaSetting is config_parse_cpu_quota: a share of one CPU, above 0.
func cpuQuotaSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.CPUQuota = 0
		return nil
	}
	n, err := parsePermyriadUnbounded(a.Value)
	if err != nil || n <= 0 {
		c.warn(a, "Invalid CPU quota '%s', ignoring.", a.Value)
		return nil
	}
	x.CPUQuota = n
	return nil
}

// weightSetting is DEFINE_CONFIG_PARSE_PTR over cg_weight_parse and its
// kin: a number in lo..hi, "idle" (0) where idle is allowed, or empty
// for the default; msg is the parser's message.
func weightSetting(lo, hi uint64, idle bool, msg string) setter {
	return func(c *settingCtx, a *Assignment) error {
		x := c.confinement()
		if a.Value == "" {
			delete(x.Weights, a.Key)
			return nil
		}
		n, err := parseUint(a.Value, 0, false, math.MaxUint64)
		switch {
		case idle && a.Value == "idle":
			n = 0
		case err != nil || n < lo || n > hi:
			c.warn(a, "%s, ignoring: %s", msg, a.Value)
			return nil
		}
		if x.Weights == nil {
			x.Weights = map[string]uint64{}
		}
		x.Weights[a.Key] = n
		return nil
	}
}

// cpuSharesSetting is config_parse_cpu_shares: the old CPUShares= and
// StartupCPUShares=, 2..262144, with a word on their replacement.
func cpuSharesSetting(c *settingCtx, a *Assignment) error {
	c.warn(a, "Unit uses %s=; please use CPUWeight= instead. Support for %s= will be removed soon.", a.Key, a.Key)
	return weightSetting(2, 262144, false, "Invalid CPU shares")(c, a)
}

// tasksMaxSetting is config_parse_tasks_max: a number above 0, a share
// of the system's maximum, or "infinity".
func tasksMaxSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	switch v := a.Value; {
	case v == "" || v == "infinity":
		x.TasksMax, x.TasksMaxSet = TasksMax{}, false
	default:
		if p, err := ParsePermyriad(v); err == nil {
			x.TasksMax, x.TasksMaxSet = TasksMax{uint64(p), 10000}, true
			return nil
		}
		n, err := parseUint(v, 0, false, math.MaxUint64)
		switch {
		case err != nil:
			c.warn(a, "Invalid maximum tasks value '%s', ignoring: %s", v, strerror(err))
		case n == 0 || n == math.MaxUint64:
			c.warn(a, "Maximum tasks value '%s' out of range, ignoring.", v)
		default:
			x.TasksMax, x.TasksMaxSet = TasksMax{Value: n}, true
		}
	}
	return nil
}

// managedOOMSetting is config_parse_managed_oom_mode (limit false) and
// config_parse_managed_oom_mem_pressure_limit, which only services,
// slices and scopes take.
func managedOOMSetting(limit bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		if t := c.u.Type; t != Service && t != Slice && t != Scope {
			c.warn(a, "%s= is not supported for this unit type, ignoring.", a.Key)
			return nil
		}
		switch {
		case a.Value == "":
		case limit:
			n, err := ParsePermyriad(a.Value)
			if err != nil {
				c.warn(a, "Failed to parse memory pressure limit value, ignoring: %s", a.Value)
				return nil
			}
			c.confinement().ManagedOOMLimit = n
		case a.Value != "auto" && a.Value != "kill":
			c.warn(a, "Invalid syntax, ignoring: %s", a.Value)
		}
		return nil
	}
}

// cpuSetSetting is config_parse_exec_cpu_affinity (affinity),
// config_parse_allowed_cpuset and config_parse_numa_mask (numa): CPUs or
// NUMA nodes, and ranges of them, in a list that extends the one before;
// empty clears it.
func cpuSetSetting(affinity, numa bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		x := c.confinement()
		switch {
		case affinity && a.Value == "numa":
			x.CPUAffinity, x.CPUAffinityFromNUMA = nil, true
			return nil
		case numa && a.Value == "all":
			return nil
		}
		v := a.Value
		if !numa {
			var err error
			if v, err = c.x.full(v); err != nil {
				c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", a.Value, strerror(err))
				return nil
			}
		}
		set, ok := c.parseCPUSet(a, v)
		if !ok {
			if numa {
				c.warn(a, "Failed to parse NUMA node mask, ignoring: %s", a.Value)
			}
			return nil
		}
		if affinity {
			x.CPUAffinityFromNUMA = false
			if set == nil {
				x.CPUAffinity = nil
				return nil
			}
			for _, cpu := range set {
				if _, found := slices.BinarySearch(x.CPUAffinity, cpu); !found {
					x.CPUAffinity = append(x.CPUAffinity, cpu)
				}
			}
			slices.Sort(x.CPUAffinity)
		}
		return nil
	}
}

// maxCPUs is CPU_SIZE_MAX in bits.
const maxCPUs = 8192 * 8

// parseCPUSet is parse_cpu_set_full with warnings: "N" and "N-M" words,
// separated by white space or commas. An empty list is nil; a list of
// only backward ranges is not.
func (c *settingCtx) parseCPUSet(a *Assignment, v string) ([]uint, bool) {
	var set []uint
	w := words{s: v}
	for {
		word, more, err := w.next(whitespace+",", extractUnquote)
		if err != nil {
			c.log(a, Error, "Invalid value for %s: %s", a.Key, v)
			return nil, false
		}
		if !more {
			return set, true
		}
		lo, hi, ok := parseRange(word)
		if !ok {
			c.log(a, Error, "Failed to parse CPU affinity '%s'", word)
			return nil, false
		}
		if lo > hi {
			c.warn(a, "Range '%s' is invalid, %d > %d, ignoring.", word, lo, hi)
			if set == nil {
				set = []uint{}
			}
			continue
		}
		for cpu := lo; cpu <= hi; cpu++ {
			if cpu >= maxCPUs {
				c.log(a, Error, "Cannot add CPU %d to set: %s", cpu, strerror(eRANGE))
				return nil, false
			}
			set = append(set, uint(cpu))
		}
	}
}

// parseRange is systemd's parse_range: "N" or "N-M".
func parseRange(s string) (lo, hi uint64, ok bool) {
	l, u, dash := strings.Cut(s, "-")
	lo, err := parseUint(l, 0, false, math.MaxUint32)
	if err != nil || l == "" {
		return 0, 0, false
	}
	if !dash {
		return lo, lo, true
	}
	hi, err = parseUint(u, 0, false, math.MaxUint32)
	return lo, hi, err == nil
}

// logFacilities are the syslog facilities by number, as
// log_facility_unshifted_from_string names them.
var logFacilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "", "", "", "", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// lookupSetting checks a value against a string table with a numeric
// fallback up to max, as the parsers built on
// DEFINE_STRING_TABLE_LOOKUP_WITH_FALLBACK do; msg is the parser's.
func lookupSetting(table []string, max uint64, msg string) setter {
	return func(c *settingCtx, a *Assignment) error {
		if _, ok := lookupWithFallback(table, a.Value, max); !ok {
			c.warn(a, "%s, ignoring: %s", msg, a.Value)
		}
		return nil
	}
}

// ipTOSNames are the names ip_tos_from_string knows.
var ipTOSNames = []string{"low-delay", "throughput", "reliability", "low-cost"}

// emptyOr is the parsers where the empty value sets the default and
// any other is read by set: DEFINE_CONFIG_PARSE_ENUM_WITH_DEFAULT,
// config_parse_ip_tos, config_parse_tty_size and
// config_parse_exec_mount_apivfs.
func emptyOr(set setter) setter {
	return func(c *settingCtx, a *Assignment) error {
		if a.Value == "" {
			return nil
		}
		return set(c, a)
	}
}

// numberSetting is conf-parser's DEFINE_PARSER for int (bits 32) and
// long (bits 64): the message names the type.
func numberSetting(name string, bits int) setter {
	return func(c *settingCtx, a *Assignment) error {
		ok := true
		if bits == 32 {
			_, err := SafeAtoi(a.Value)
			ok = err == nil
		} else {
			s, base := mangleBase(strings.TrimLeft(a.Value, whitespace), 0)
			n, neg, err := strtoul(s, base)
			ok = err == nil && (n <= math.MaxInt64 || neg && n == 1<<63)
		}
		if !ok {
			c.warn(a, "Failed to parse %s value, ignoring: %s", name, a.Value)
		}
		return nil
	}
}

// iecSizeSetting is config_parse_iec_size.
func iecSizeSetting(c *settingCtx, a *Assignment) error {
	if _, err := ParseSize(a.Value, 1024); err != nil {
		c.warn(a, "Failed to parse size value '%s', ignoring: %s", a.Value, strerror(err))
	}
	return nil
}

// coredumpFilters are the names coredump_filter_from_string knows, by bit.
var coredumpFilters = []string{"private-anonymous", "shared-anonymous", "private-file-backed", "shared-file-backed",
	"elf-headers", "private-huge", "shared-huge", "private-dax", "shared-dax"}

// coredumpFilterSetting is config_parse_exec_coredump_filter: names of
// mappings, "default", "all", or hexadecimal masks.
func coredumpFilterSetting(c *settingCtx, a *Assignment) error {
	w := words{s: a.Value}
	for {
		word, more, err := w.next("", 0)
		if err == nil && !more {
			return nil
		}
		if err == nil && (word == "default" || word == "all" || slices.Contains(coredumpFilters, word)) {
			continue
		}
		if err == nil {
			_, err = parseUint(word, 16, false, math.MaxUint64)
		}
		if err != nil {
			c.warn(a, "Failed to parse the CoredumpFilter=%s, ignoring: %s", a.Value, strerror(err))
			return nil
		}
	}
}

// noCheck is the parser of a setting systemd takes any value of, as
// config_parse_string without flags.
func noCheck(*settingCtx, *Assignment) error { return nil }
