package api

import (
	"context"
	"net/http"
)

// A ClusterJournal is the journal lines of every live node of a daemon's
// cluster, its own with them, merged by time; Missing names the nodes
// that did not answer, whose lines are not there. A daemon in no cluster
// answers with its own lines.
type ClusterJournal struct {
	Entries []Entry  `json:"entries"`
	Missing []string `json:"missing,omitempty"`
	// Why says, of each node missing, by name, why its lines are not
	// there.
	Why map[string]string `json:"why,omitempty"`
	// Cursors are the cursor of the last of each node's lines that it
	// answered with, those the last or first the query asked for left
	// out too, by name: where a query of Cursors follows on.
	Cursors map[string]int64 `json:"cursors,omitempty"`
}

// A ClusterJournalBackend answers for the journal of the daemon's
// cluster; for a Backend that is not one, it is the daemon's own lines,
// without their Cursors.
type ClusterJournalBackend interface {
	ClusterJournal(ctx context.Context, q JournalQuery) (ClusterJournal, error)
}

func serveClusterJournal(mux *http.ServeMux, b Backend) {
	mux.HandleFunc("POST /v1/journal/cluster", func(w http.ResponseWriter, r *http.Request) {
		var q JournalQuery
		if !decode(w, r, &q) {
			return
		}
		if cb, ok := b.(ClusterJournalBackend); ok {
			j, err := cb.ClusterJournal(r.Context(), q)
			reply(w, j, err)
			return
		}
		entries, err := b.Journal(r.Context(), q)
		reply(w, ClusterJournal{Entries: entries}, err)
	})
}

// ClusterJournal returns the journal entries the query selects of every
// live node of the daemon's cluster, oldest first, and the nodes that
// did not answer.
func (c *Client) ClusterJournal(ctx context.Context, q JournalQuery) (ClusterJournal, error) {
	var j ClusterJournal
	err := c.do(ctx, http.MethodPost, "/v1/journal/cluster", q, &j)
	return j, err
}
