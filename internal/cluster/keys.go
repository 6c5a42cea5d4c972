package cluster

// The key space, as the package's doc lays it out.
const (
	prefix      = "/sundial/v1/"
	nodesPrefix = prefix + "nodes/"
)

func nodeKey(name string) string { return nodesPrefix + name }
