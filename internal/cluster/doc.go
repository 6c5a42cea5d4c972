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
// A leader whose member leads etcd's Raft as well, when its term begins
// or when Raft's leader changes during it, hands Raft leadership to the
// most up-to-date other member that answers as a healthy follower
// (etcd's MoveLeader), so that the loss of one process is one failover:
// losing both leaderships at once is a Raft election first, and then the
// wait for the term's lease, which the new Raft leader renews in full.
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
// Elapses due together go in few transactions ([Cluster.AssignAll]):
// the comparisons of each and one fence for all, committed all or none;
// if one's comparisons fail, each is committed alone, which tells which
// is stale. A node's acknowledgments of the runs assigned to it
// together, its runs' ends that come together, and the marks of a lost
// node's runs are committed the same way: one Raft proposal each would
// have hundreds a second wait behind each other.
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
// # The cache of stamps and runs
//
// Each node keeps the timers' stamps, and the keys of the run records
// with the newest record of each timer, in memory: one read of timers/
// and runs/ at one revision when it opens, then a watch from that
// revision, which needs a Raft leader; when the watch ends (the
// revisions it would resume from were compacted, or it failed), both
// are read again. [Cluster.Timer] and [Cluster.LastRun] answer from it,
// so that the scans every node makes each second read nothing from etcd.
// The cache may lag behind: a trigger from a stamp that moved meanwhile
// fails with [ErrStale], as from any stale read, and reads the stamp
// again, so that the caller's next [Cluster.Timer] has etcd's.
//
// # Retention
//
// The leader deletes the run records of each timer but the newest
// [Config.KeepRuns] (and any older one not ended), as runs come, in
// batches, each a transaction under the term's fence. A leader that
// hosts a member compacts etcd's history to the revision of one
// retention ago ([Config.CompactionRetention]) when its term begins, as
// soon as its first beat takes on the last leader's marks, and each
// third of a retention, by the marks of the revision its node took each
// tenth of it, and those the last leader's beats carried, so that old
// revisions go too and the database stays bounded, through a run of
// short terms too; the members' own periodic compactor, with twice the
// retention, is there for a leader that hosts none.
//
// # Failover and the whole cluster's stop
//
// A cluster timer stays active while any node of the cluster lives, as a
// timer of systemd's stays active while its manager runs: elapses missed
// while the leader changes fire once, late, as after a suspend. When
// every node was down, the cluster's timers were not active, as after a
// reboot: only a Persistent= timer catches up, once, and the others
// count anew from their activation. A new leader tells the two apart
// by the last leader's heartbeat ([Cluster.Beat]): written through the
// fence each time the leader scans its timers, it names the nodes that
// lived then, each with its incarnation, which is its process's (a node
// started again is another). If a node that lives now, in the same
// incarnation, is named, the cluster stayed up: a failover
// ([Cluster.Down]). A node's key goes with its lease, which may end
// while the node lives (paused, cut off, or etcd's Raft without a leader
// for longer than the lease): the node stops its runs and joins again
// under a new lease (see The node's lease), the same incarnation, and
// the beat names it meanwhile. The keys of nodes
// killed with the whole cluster outlive it by a lease, which etcd gives
// every lease again when it starts: a new leader not named in the beat
// waits that long for them to go. A node killed before a beat named it
// stands for none: where every node that lives started since the last
// beat, a failover passes for the whole cluster's stop, and a timer that
// is not Persistent= does not catch up, as its journal says. The beat
// marks no run: a run is its node's lease's (see Placement), and the
// leader marks those of a lease gone as it follows the nodes. Where a
// timer's activation is kept in its stamp ([Cluster.Activate]),
// OnActiveSec= counts from it, whichever node leads.
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
// publishes the hashes of the copies it has started, and of those alone
// ([Cluster.PublishCopies]): a copy stopped is withdrawn. The leader's
// copy is the cluster's, which it sets ([Cluster.SetHashes]); until a
// leader has, the first hash published. A node's hashes go in a few
// keys, a unit's by a hash of its name, not a key each: a node that
// dies takes them with its lease, and puts them again once back. A node whose copy differs does
// not run the unit, and its cache tells it when the cluster's changes
// ([Cluster.ClusterHash]).
//
// # Keys
//
//	/sundial/v1/leader/<lease>            the candidates, oldest leads
//	/sundial/v1/timers/<timer>            a timer's stamp (JSON)
//	/sundial/v1/beat                      the leader's heartbeat (JSON)
//	/sundial/v1/runs/<timer>/<elapse-µs>  a run record (JSON), small
//	/sundial/v1/nodes/<name>              a node, while its lease lives, with
//	                                      where it answers for its journal
//	/sundial/v1/hashes/<u>                the cluster's: the leader's copy's
//	/sundial/v1/held/<name>/<part>        the hashes of the node's copies of
//	                                      the part's units (JSON), while its
//	                                      lease lives
//	/sundial/v1/secret                    what peers show one another
//	/sundial/v1/assign/<name>/<timer>/<elapse-µs>
//	                                      a run assigned to a node, not ended
//
// Elapses are zero-padded to 20 digits, so that the order of the keys is
// the order of the elapses.
//
// # What any node shows
//
// Any node shows the cluster's timers as the leader sees them
// ([Cluster.TimerViews]: the stamp and the last run, on whichever node;
// [Cluster.CachedTimerViews] the same from the node's cache, for what
// reads them every second), and their runs ([Cluster.Runs]). Journal lines stay in each node's own
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
