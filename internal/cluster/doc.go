// Package cluster keeps the state that cluster timers share in etcd v3:
// it hosts an etcd member in the daemon's process (etcd's own server,
// through go.etcd.io/etcd/server/v3/embed), or is a client of an etcd
// cluster that runs elsewhere.
//
// # Keys
//
//	/sundial/v1/nodes/<name>  a node, while its lease lives
//
// # Deadlines and logs
//
// Every call to etcd has a deadline ([Config.RequestTimeout]). etcd's
// own log (zap) goes to the injected slog.Logger, from warnings up, but
// for the warnings every start of a member gives, which say nothing
// wrong, and for what it says while it is being stopped.
package cluster
