package service

import "sundial.dev/sundial/unit"

// A CGroupUsage is what a control group's files tell of the tasks and
// memory it holds and may hold, as systemctl status shows them
// (print_status_info): the tasks where the pids controller is enabled
// for it, the memory where the memory controller is. A limit not set
// is [unit.CGroupLimitMax]; a protection not set, 0. They are the
// kernel's values, which systemd shows as the unit's settings: a
// memory limit not a multiple of the page size is shown rounded down.
type CGroupUsage struct {
	Tasks, TasksMax                                                    uint64
	TasksKnown                                                         bool
	Memory, MemoryMin, MemoryLow, MemoryHigh, MemoryMax, MemorySwapMax uint64
	MemoryKnown                                                        bool
}

// noCGroupUsage knows nothing, and has no limits.
var noCGroupUsage = CGroupUsage{TasksMax: unit.CGroupLimitMax, MemoryHigh: unit.CGroupLimitMax, MemoryMax: unit.CGroupLimitMax, MemorySwapMax: unit.CGroupLimitMax}

// MemoryAvailable is how much more memory the group may take before a
// limit, as unit_get_memory_available: the lower of memory.high and
// memory.max less what it uses; [unit.CGroupLimitMax] without either.
func (u CGroupUsage) MemoryAvailable() uint64 {
	limit := min(u.MemoryHigh, u.MemoryMax)
	if limit == unit.CGroupLimitMax {
		return unit.CGroupLimitMax
	}
	return limit - min(limit, u.Memory)
}
