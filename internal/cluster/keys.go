package cluster

import "fmt"

// The key space, as the package's doc lays it out.
const (
	prefix       = "/sundial/v1/"
	leaderPrefix = prefix + "leader/"
	timersPrefix = prefix + "timers/"
	runsPrefix   = prefix + "runs/"
	nodesPrefix  = prefix + "nodes/"
	hashesPrefix = prefix + "hashes/"
	beatKey      = prefix + "beat"
	secretKey    = prefix + "secret"
	heldPrefix   = prefix + "held/"
	assignPrefix = prefix + "assign/"
)

func nodeKey(name string) string  { return nodesPrefix + name }
func hashKey(unit string) string  { return hashesPrefix + unit }
func timerKey(name string) string { return timersPrefix + name }
func runsOf(timer string) string  { return runsPrefix + timer + "/" }
func runKey(timer string, elapse uint64) string {
	return fmt.Sprintf("%s%020d", runsOf(timer), elapse)
}
func heldKey(node string, part int) string {
	return fmt.Sprintf("%s%s/%02d", heldPrefix, node, part)
}
func assignmentsOf(node string) string { return assignPrefix + node + "/" }
func assignKey(node, timer string, elapse uint64) string {
	return fmt.Sprintf("%s%s/%020d", assignmentsOf(node), timer, elapse)
}
