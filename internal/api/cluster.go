package api

import (
	"context"
	"errors"
	"net/http"
)

// A ClusterStatus is what a daemon in a cluster sees of it, for sundial
// cluster status.
type ClusterStatus struct {
	// Node is the daemon's node name; Lease, its lease's ID in
	// hexadecimal, and LeaseTTL and LeaseLeft, its life and what is left
	// of it, in seconds.
	Node      string          `json:"node"`
	Lease     string          `json:"lease"`
	LeaseTTL  int64           `json:"lease_ttl"`
	LeaseLeft int64           `json:"lease_left"`
	Members   []ClusterMember `json:"members"`
	// Endpoint is the etcd endpoint the daemon uses; Healthy is set when
	// it answers with a Raft leader and no alarm, and Problems says what
	// is wrong otherwise.
	Endpoint string   `json:"endpoint"`
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems"`
	// Quorum is set when etcd has a Raft leader, so that Leader and the
	// lease could be read.
	Quorum bool `json:"quorum"`
	// Leader is the node that leads the cluster's timers, "" for none
	// or, without a quorum, not known.
	Leader string `json:"leader"`
	// Nodes are the cluster's nodes, those that hold a lease and those
	// gone; none without a quorum.
	Nodes []ClusterNode `json:"nodes"`
}

// A ClusterNode is a node of the cluster: Live while it holds a lease,
// whose ID, in hexadecimal, is Lease.
type ClusterNode struct {
	Name  string `json:"name"`
	Live  bool   `json:"live"`
	Lease string `json:"lease,omitempty"`
}

// A ClusterMember is an etcd member of the cluster.
type ClusterMember struct {
	Name       string   `json:"name"`
	ID         string   `json:"id"` // hexadecimal, as etcdctl shows it
	PeerURLs   []string `json:"peer_urls"`
	ClientURLs []string `json:"client_urls"`
	RaftLeader bool     `json:"raft_leader"`
	// Healthy is set when the member answered, with a Raft leader and
	// no alarm; Problems says what is wrong otherwise.
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems"`
}

// A ClusterBackend answers for the daemon's cluster; a Backend that is
// not one runs none.
type ClusterBackend interface {
	ClusterStatus(ctx context.Context) (ClusterStatus, error)
}

// ErrNoCluster is the answer of a daemon that runs no cluster.
var ErrNoCluster = errors.New("The daemon is not part of a cluster: it was started without --etcd-name= or --etcd-endpoints=.")

func serveCluster(mux *http.ServeMux, b Backend) {
	serveClusterJournal(mux, b)
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		cb, ok := b.(ClusterBackend)
		if !ok {
			replyStatus(w, http.StatusNotFound, ErrNoCluster)
			return
		}
		st, err := cb.ClusterStatus(r.Context())
		reply(w, st, err)
	})
}

// ClusterStatus returns what the daemon sees of its cluster.
func (c *Client) ClusterStatus(ctx context.Context) (ClusterStatus, error) {
	var st ClusterStatus
	err := c.get(ctx, "/v1/cluster", &st)
	return st, err
}

// A PartialError comes with the answer of a daemon in a cluster that
// could not read the cluster's part of it (etcd did not answer): the
// answer has the daemon's own part, and Err says why the rest is not
// there. A backend returns it with its answer, which is sent; the client
// returns it with the answer it read.
type PartialError struct{ Err error }

func (e *PartialError) Error() string { return e.Err.Error() }

func (e *PartialError) Unwrap() error { return e.Err }

// partialHeader carries a PartialError's text beside its answer.
const partialHeader = "Sundial-Partial"
