// Package cluster keeps the state that cluster timers share in etcd v3:
// it hosts an etcd member in the daemon's process (etcd's own server,
// through go.etcd.io/etcd/server/v3/embed), or is a client of an etcd
// cluster that runs elsewhere, and on it offers what a scheduler of
// cluster timers needs to fire each elapse exactly once across machines.
//
// # Leadership
//
// One node leads. [Cluster.Lead] campaigns as etcd's concurrency.Election
// does, under /sundial/v1/leader/: each candidate puts a key attached to a
// lease of its own, and the candidate whose key is the oldest leads. It
// returns a [Term], a value: the key won with, its creation revision, and
// a channel closed when the term's lease ends (it expired, was revoked,
// or the term resigned). Every write a leader makes is guarded by
// CreateRevision(key) == rev inside the write's own transaction (the
// fence), so that a leader that was deposed while it paused, and does
// not know it, commits nothing: a failed fence is [ErrDeposed], and the
// caller stops leading; it does not try again.
//
// # Triggers
//
// [Cluster.Trigger] records a timer's elapse as one transaction: the
// stamp of the timer moves from the version read (its ModRevision) to the
// new one, and the run record of the elapse is made, only while the fence
// holds, the stamp is the one read, and no run of that elapse was
// recorded. A stamp moved meanwhile is [ErrStale]: the caller reads it
// again and computes anew, which is how a new leader catches up once, as
// systemd does after a suspend, and not once per missed elapse. The
// service starts only after the trigger is committed, so that a run is
// at most once per trigger; a run whose node died while it ran is marked
// [RunNodeLost] by the next leader ([Cluster.MarkNodesLost]), not run
// again.
//
// # Placement
//
// The leader chooses the node that runs each elapse among
// [Cluster.Candidates]: the live nodes whose copy of the timer is the
// cluster's, with how many runs each has not ended. [Cluster.Assign]
// records the run assigned to that node, in the trigger's transaction,
// with a key of the node's that the node watches ([Cluster.Assignments]);
// the node acknowledges the run (assigned becomes running, a
// compare-and-swap of the record) and starts it; its end removes the
// key, which the leader, following the runs not ended and the nodes
// ([Cluster.Follow]), is told of. A run assigned or running on a node
// that left, or was started again under another lease, is lost: never
// acknowledged by the node that comes back under its name. An
// assignment whose commit's reply was lost stands, and its node runs it
// all the same, once.
//
// # The node's lease
//
// The node's key, its hashes and its runs live with its own lease. The
// node renews it itself and counts its deadline from its side: when the
// last renewal that held was sent, plus the life etcd granted, which
// etcd's own expiry is never earlier than. When that passes unrenewed,
// or etcd says the lease is gone, the node's session has ended
// ([Cluster.SessionEnded]): the runs it was assigned are lost to the
// cluster, as the leader will record them, and [Cluster.Assignments]
// fails with [ErrSessionEnded], so that the node stops them before
// another node may run the next elapse. The node then joins again under
// a new lease: its key is put again, and it is assigned runs again.
//
// # Cluster timers
//
// A timer is a cluster timer when its file says so in a section systemd
// ignores, so that the same file serves systemd and verify is quiet:
//
//	[X-Sundial]
//	Cluster=yes
//	Nodes=backup-* db1
//
// [ReadMark] reads it: Nodes= are globs of the names of the nodes its
// service may run on. OnBootSec= and OnStartupSec= mean nothing across
// machines that booted at different times, and are refused for one.
//
// # Unit hashes
//
// Every node reads a cluster timer's files from its own unit path. Each
// publishes the hash of its copy ([Cluster.PublishHash]); the first hash
// published for a unit is the cluster's, and a node whose copy differs
// does not run it.
//
// # Keys
//
//	/sundial/v1/leader/<lease>            the candidates, oldest leads
//	/sundial/v1/timers/<timer>            a timer's stamp (JSON)
//	/sundial/v1/runs/<timer>/<elapse-µs>  a run record (JSON), small
//	/sundial/v1/nodes/<name>              a node, while its lease lives, with
//	                                      where it answers for its journal
//	/sundial/v1/nodes/<name>/hashes/<u>   the hash of the node's copy of u
//	/sundial/v1/hashes/<u>                the cluster's: the first published
//	/sundial/v1/secret                    what peers show one another
//	/sundial/v1/copies/<u>/<name>         the same, by unit, for placement
//	/sundial/v1/assign/<name>/<timer>/<elapse-µs>
//	                                      a run assigned to a node, not ended
//
// Elapses are zero-padded to 20 digits, so that the order of the keys is
// the order of the elapses.
//
// # What any node shows
//
// Any node shows the cluster's timers as the leader sees them
// ([Cluster.TimerViews]: the stamp and the last run, on whichever node),
// and their runs ([Cluster.Runs]). Journal lines stay in each node's own
// store: a node asks its peers for theirs, at the address each publishes
// with its key ([Cluster.Nodes]), showing the cluster's secret
// ([Cluster.Secret]), which only etcd's clients can read.
//
// # Deadlines and logs
//
// Every call to etcd has a deadline ([Config.RequestTimeout]); waiting to
// lead has none, but ends with the caller's context or the lease. etcd's
// own log (zap) goes to the injected slog.Logger, from warnings up, but
// for the warnings every start of a member gives, which say nothing
// wrong, and for what it says while it is being stopped.
//
// # Counts and health
//
// A [Meter], made before the node joins, counts its requests to etcd by
// operation (timed by a gRPC interceptor of the client's, so that no call
// is left out), with their failures, its terms won and lost, and its
// triggers by outcome; it knows nothing of Prometheus. [Cluster.Health]
// and [Cluster.Status] read what the node's etcd member answers without a
// quorum (its own status, serializable reads), so that a node cut off
// says so at once rather than at a deadline.
package cluster
