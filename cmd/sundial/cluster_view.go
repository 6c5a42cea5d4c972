package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
)

var _ manager.ClusterView = clusterTimers{}

func (ct clusterTimers) Node() string { return ct.n.name }

func (ct clusterTimers) Runs(ctx context.Context, timer string, n int) ([]api.Run, error) {
	c, err := ct.open()
	if err != nil {
		return nil, err
	}
	runs, err := c.Runs(ctx, timer, n)
	if err != nil {
		return nil, err
	}
	out := make([]api.Run, len(runs))
	for i, r := range runs {
		out[i] = apiRun(r)
	}
	return out, nil
}

// apiRun is a cluster's run record as the commands show a run.
func apiRun(r cluster.Run) api.Run {
	return api.Run{Unit: r.Unit, Timer: r.Timer, Reason: r.Reason, Invocation: r.Invocation, Started: r.Started, Ended: r.Ended,
		State: string(r.State), Result: r.Result, ExitCode: r.ExitCode, ExitStatus: r.ExitStatus, Node: r.Node}
}

// viewTimeout bounds the reads of the cluster's view of its timers, which
// list-timers and status wait for: where etcd does not answer, they show
// the timers as they are here, soon.
const viewTimeout = 2 * time.Second

func (ct clusterTimers) TimerViews(ctx context.Context, names []string) (map[string]manager.ClusterTimerView, error) {
	c, err := ct.open()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, viewTimeout)
	defer cancel()
	views, err := c.TimerViews(ctx, names)
	if err != nil {
		return nil, err
	}
	out := newTimerViews(len(views))
	for name, v := range views {
		out.add(name, v)
	}
	return out.views, nil
}

func (ct clusterTimers) CachedTimerViews(ctx context.Context, names []string) (map[string]manager.ClusterTimerView, error) {
	c, err := ct.open()
	if err != nil {
		return nil, err
	}
	out := newTimerViews(len(names))
	if err := c.CachedTimerViews(ctx, names, out.add); err != nil {
		return nil, err
	}
	return out.views, nil
}

// timerViews are the cluster's views of its timers as the manager has
// them, made for as many as n, with their last runs side by side: a node
// makes them for every cluster timer each second.
type timerViews struct {
	views map[string]manager.ClusterTimerView
	runs  []api.Run
}

func newTimerViews(n int) *timerViews {
	return &timerViews{views: make(map[string]manager.ClusterTimerView, n), runs: make([]api.Run, 0, n)}
}

// add adds a timer's view, of one of the n timers at most.
func (tv *timerViews) add(name string, v cluster.TimerView) {
	mv := manager.ClusterTimerView{State: v.State}
	if v.Last.Key != "" {
		// Within the capacity made: runs is never moved.
		tv.runs = append(tv.runs, apiRun(v.Last))
		mv.Last = &tv.runs[len(tv.runs)-1]
	}
	tv.views[name] = mv
}

// peerTimeout bounds a peer's answer.
const peerTimeout = 5 * time.Second

// maxPeerAnswer bounds what a node reads of a peer's answer: a peer that
// sends more is missing, and does not fill the node's memory.
var maxPeerAnswer int64 = 64 << 20

// A peerQuery is what a node asks a peer for its journal lines: with
// ThisBoot, the lines of the peer's current boot, which -b means.
type peerQuery struct {
	api.JournalQuery
	ThisBoot bool
}

// peerClient asks the peers directly, through no proxy the environment
// names: the secret goes to them alone.
var peerClient = &http.Client{Transport: &http.Transport{}}

// Where a node answers its peers: for its lines, their units, and its
// own history of runs.
const (
	peerJournalPath = "/v1/journal"
	peerUnitsPath   = "/v1/journal/units"
	peerRunsPath    = "/v1/runs"
)

// A peerRunsQuery is what a node asks a peer for its own history: the
// last Last runs (0 for all) of Unit ("" for every unit).
type peerRunsQuery struct {
	Unit string
	Last int
}

// Journal asks each other live node, at once, for its lines after its
// cursor in q.Cursors, within peerTimeout; those that did not answer,
// or publish no address, are missing, each with why. A node whose cursor is negative is
// asked for its last line alone, whose cursor it answers with, and not
// the line: where it is followed from.
func (ct clusterTimers) Journal(ctx context.Context, q api.JournalQuery) (api.ClusterJournal, error) {
	pq := peerQuery{JournalQuery: q}
	pq.Cursors = nil
	if q.Boot != "" && q.Boot == clock.BootID() {
		pq.Boot, pq.ThisBoot = "", true
	}
	var mu sync.Mutex
	j := api.ClusterJournal{Cursors: map[string]int64{}}
	why, err := ct.askPeers(ctx, func(ctx context.Context, node cluster.Node, secret string) error {
		pq := pq
		pq.After = q.Cursors[node.Name]
		fromEnd := pq.After < 0
		if fromEnd {
			pq.After, pq.Last, pq.First = 0, 1, 0
		}
		var es []api.Entry
		if err := askPeer(ctx, node, secret, http.MethodPost, peerJournalPath, pq, &es); err != nil {
			return err
		}
		for i := range es {
			es[i].Node = node.Name
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case len(es) > 0:
			j.Cursors[node.Name] = es[len(es)-1].Cursor
		case fromEnd:
			j.Cursors[node.Name] = 0
		}
		if !fromEnd {
			j.Entries = append(j.Entries, es...)
		}
		return nil
	})
	j.Missing = slices.Sorted(maps.Keys(why))
	if len(why) > 0 {
		j.Why = make(map[string]string, len(why))
		for node, err := range why {
			j.Why[node] = err.Error()
		}
	}
	return j, err
}

// JournalUnits asks each other live node, at once, for the units its
// journal has lines of, within peerTimeout; those that did not answer
// are left out.
func (ct clusterTimers) JournalUnits(ctx context.Context) ([]string, error) {
	var (
		mu    sync.Mutex
		units []string
	)
	_, err := ct.askPeers(ctx, func(ctx context.Context, node cluster.Node, secret string) error {
		var us []string
		if err := askPeer(ctx, node, secret, http.MethodGet, peerUnitsPath, nil, &us); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		units = append(units, us...)
		return nil
	})
	return units, err
}

// PeerRuns asks each other live node, at once, for the last n runs (0
// for all) of a unit ("" for all) in its own history, within
// peerTimeout; those that did not answer, or publish no address, are
// left out, each with why.
func (ct clusterTimers) PeerRuns(ctx context.Context, unit string, n int) ([]api.Run, map[string]error, error) {
	var (
		mu   sync.Mutex
		runs []api.Run
	)
	why, err := ct.askPeers(ctx, func(ctx context.Context, node cluster.Node, secret string) error {
		var rs []api.Run
		if err := askPeer(ctx, node, secret, http.MethodPost, peerRunsPath, peerRunsQuery{Unit: unit, Last: n}, &rs); err != nil {
			return err
		}
		for i := range rs {
			// Its IDs are its store's, which mean nothing here.
			rs[i].Node, rs[i].ID = node.Name, 0
		}
		mu.Lock()
		defer mu.Unlock()
		runs = append(runs, rs...)
		return nil
	})
	return runs, why, err
}

// askPeers has ask ask each other live node at once, with the cluster's
// secret, and returns why it failed for those it failed for, by name.
func (ct clusterTimers) askPeers(ctx context.Context, ask func(ctx context.Context, node cluster.Node, secret string) error) (map[string]error, error) {
	c, err := ct.open()
	if err != nil {
		return nil, err
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := ct.n.secret(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		why  = map[string]error{}
		asks sync.WaitGroup
	)
	for _, node := range nodes {
		if node.Name == ct.n.name {
			continue
		}
		asks.Go(func() {
			if err := ask(ctx, node, secret); err != nil {
				mu.Lock()
				defer mu.Unlock()
				why[node.Name] = err
			}
		})
	}
	asks.Wait()
	return why, nil
}

// askPeer asks a node at path, with body in JSON if not nil, within
// peerTimeout, and reads its answer into v.
func askPeer(ctx context.Context, node cluster.Node, secret, method, path string, body, v any) error {
	if node.Address == "" {
		return errors.New("it answers no other node: it was started without --journal-listen=")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+node.Address+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := peerClient.Do(req)
	if ue, ok := errors.AsType[*url.Error](err); ok {
		// Without the method and the URL, which do not say why.
		err = ue.Err
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	answer := &io.LimitedReader{R: resp.Body, N: maxPeerAnswer + 1}
	if err := json.NewDecoder(answer).Decode(v); err != nil {
		if answer.N == 0 {
			return fmt.Errorf("its answer is larger than %d bytes", maxPeerAnswer)
		}
		return err
	}
	return nil
}

// secret returns the cluster's secret, read once the node has joined.
func (n *clusterNode) secret(ctx context.Context) (string, error) {
	n.mu.Lock()
	c, s := n.c, n.peerSecret
	n.mu.Unlock()
	if s != "" {
		return s, nil
	}
	if c == nil {
		return "", errNotJoined
	}
	s, err := c.Secret(ctx)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.peerSecret = s
	n.mu.Unlock()
	return s, nil
}

// peerListener listens where the node answers its peers for its journal
// lines and runs: at addr, or without it on a free port of the host of the
// member's advertised client URL; nil where there is none.
func peerListener(cfg *cluster.Config, addr string) (net.Listener, error) {
	if addr == "" {
		host := cfg.PeerHost()
		if host == "" {
			return nil, nil
		}
		addr = net.JoinHostPort(host, "0")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("Failed to listen for the cluster's peers on %s: %w", addr, err)
	}
	cfg.Address = l.Addr().String()
	return l, nil
}

// checkPeerAddress checks --journal-listen='s address: a host that peers
// can reach, and a port.
func checkPeerAddress(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err == nil && (host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified()) {
		err = errors.New("the peers need a host they can reach, not all of them")
	}
	if err != nil {
		return usageError(fmt.Sprintf("Invalid --journal-listen= value %q: %v.", addr, err))
	}
	return nil
}

// servePeers answers the node's peers for its journal and history on l, once the
// manager runs, until ctx is done.
func servePeers(ctx context.Context, l net.Listener, m *manager.Manager, n *clusterNode, log *slog.Logger) {
	defer l.Close()
	select {
	case <-m.Started():
	case <-ctx.Done():
		return
	}
	log.Info("Answering the cluster's peers for the journal and the history on " + l.Addr().String() + ".")
	if err := api.ServeLimited(ctx, l, peerHandler(n, m), log, "the cluster's peer listener"); err != nil {
		log.Error("The cluster's peer listener failed.", "err", err)
	}
}

// A peerSource is a node's own journal and history, which its peers ask
// for.
type peerSource interface {
	LocalJournal(ctx context.Context, q api.JournalQuery) ([]api.Entry, error)
	LocalJournalUnits(ctx context.Context) ([]string, error)
	LocalRuns(ctx context.Context, unit string, last int) ([]api.Run, error)
}

// peerHandler answers the node's peers from its journal and history, if
// they show the cluster's secret as a bearer token.
func peerHandler(n *clusterNode, own peerSource) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+peerJournalPath, func(w http.ResponseWriter, r *http.Request) {
		var q peerQuery
		if !peerAsked(n, w, r, &q) {
			return
		}
		if q.ThisBoot {
			q.Boot = clock.BootID()
		}
		entries, err := own.LocalJournal(r.Context(), q.JournalQuery)
		peerReply(w, entries, err)
	})
	mux.HandleFunc("GET "+peerUnitsPath, func(w http.ResponseWriter, r *http.Request) {
		if !peerAllowed(n, w, r) {
			return
		}
		units, err := own.LocalJournalUnits(r.Context())
		peerReply(w, units, err)
	})
	mux.HandleFunc("POST "+peerRunsPath, func(w http.ResponseWriter, r *http.Request) {
		var q peerRunsQuery
		if !peerAsked(n, w, r, &q) {
			return
		}
		runs, err := own.LocalRuns(r.Context(), q.Unit, q.Last)
		peerReply(w, runs, err)
	})
	return mux
}

// peerAsked reports whether a request shows the cluster's secret and
// its body reads into q, or refuses it.
func peerAsked(n *clusterNode, w http.ResponseWriter, r *http.Request, q any) bool {
	if !peerAllowed(n, w, r) {
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, api.MaxRequestBody)).Decode(q); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// peerAllowed reports whether a request shows the cluster's secret, or
// refuses it. A request that shows no token is refused before the secret
// is read: it makes the node ask etcd nothing. Why the secret cannot be
// read is not told: the client may be anyone.
func peerAllowed(n *clusterNode, w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		http.Error(w, errNoSecret, http.StatusUnauthorized)
		return false
	}
	secret, err := n.secret(r.Context())
	if err != nil {
		http.Error(w, "the cluster's secret cannot be read now", http.StatusServiceUnavailable)
		return false
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(secret)) != 1 {
		http.Error(w, errNoSecret, http.StatusUnauthorized)
		return false
	}
	return true
}

// errNoSecret is the refusal of a request without the cluster's secret.
const errNoSecret = "the cluster's secret is needed"

// peerReply answers a peer with v, or the error.
func peerReply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
