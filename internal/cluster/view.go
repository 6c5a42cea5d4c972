package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/store"
)

// Nodes returns the nodes that live (their keys, with their leases, are
// under nodes/), by name.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	kvs, err := c.nodeKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", err)
	}
	nodes := make([]Node, len(kvs))
	for i, kv := range kvs {
		if err := json.Unmarshal(kv.Value, &nodes[i]); err != nil {
			return nil, fmt.Errorf("cluster: node %s: %w", kv.Key, err)
		}
	}
	return nodes, nil
}

// Secret returns the cluster's secret, which a node shows its peers to
// be answered: the first node to ask makes it, at random, and it stays.
// Only etcd's clients can read it.
func (c *Cluster) Secret(ctx context.Context) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	mine := hex.EncodeToString(b)
	var resp *clientv3.TxnResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(secretKey), "=", 0)).
			Then(clientv3.OpPut(secretKey, mine)).Else(clientv3.OpGet(secretKey)).Commit()
		return err
	}); err != nil {
		return "", fmt.Errorf("cluster: the secret: %w", err)
	}
	if resp.Succeeded {
		return mine, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 || len(kvs[0].Value) == 0 {
		return "", fmt.Errorf("cluster: the secret: not found")
	}
	return string(kvs[0].Value), nil
}

// A TimerView is what any node shows of a cluster timer: the cluster's
// stamp, and the timer's last run record, on whichever node it ran.
type TimerView struct {
	State store.TimerState
	// Last is the last run; its Key is "" for none.
	Last Run
}

// viewsPerTxn bounds the reads of one transaction of TimerViews: two a
// timer, well within etcd's --max-txn-ops (128 by default).
const viewsPerTxn = 50

// TimerViews returns the views of the timers named, by name, in few
// calls: a transaction of reads for each viewsPerTxn of them, each read
// at one revision.
func (c *Cluster) TimerViews(ctx context.Context, names []string) (map[string]TimerView, error) {
	views := make(map[string]TimerView, len(names))
	for chunk := range slices.Chunk(names, viewsPerTxn) {
		var ops []clientv3.Op
		for _, name := range chunk {
			// Keys end with the elapse: the last run is the first backwards.
			ops = append(ops, clientv3.OpGet(timerKey(name)),
				clientv3.OpGet(runsOf(name), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(1)))
		}
		var resp *clientv3.TxnResponse
		if err := c.call(ctx, func(ctx context.Context) (err error) {
			resp, err = c.client.Txn(ctx).Then(ops...).Commit()
			return err
		}); err != nil {
			return nil, fmt.Errorf("cluster: timers: %w", err)
		}
		for i, name := range chunk {
			var v TimerView
			if kvs := resp.Responses[2*i].GetResponseRange().Kvs; len(kvs) > 0 {
				var err error
				if v.State, err = timerState(kvs[0]); err != nil {
					return nil, fmt.Errorf("cluster: timer %s: %w", name, err)
				}
			}
			if kvs := resp.Responses[2*i+1].GetResponseRange().Kvs; len(kvs) > 0 {
				var err error
				if v.Last, err = decodeRun(kvs[0]); err != nil {
					return nil, err
				}
			}
			views[name] = v
		}
	}
	return views, nil
}

// CachedTimerViews calls each with the view of each timer named, as the
// node's cache has it ([Cluster.Timer], [Cluster.LastRun]): no read of
// etcd but a timer's last run the first time. It fails while the cache's
// watch is lost, rather than show what may be long past; where it fails
// after some calls, their views are not the whole. Each call is made
// rather than a map returned, as a node reads them all each second.
func (c *Cluster) CachedTimerViews(ctx context.Context, names []string, each func(name string, v TimerView)) error {
	k := c.cache
	k.mu.Lock()
	lost := k.lost
	k.mu.Unlock()
	if lost {
		return errors.New("cluster: timers: the watch of the cluster's timers is lost")
	}
	for _, name := range names {
		st, err := c.Timer(ctx, name)
		if err != nil {
			return err
		}
		last, _, err := c.LastRun(ctx, name)
		if err != nil {
			return err
		}
		each(name, TimerView{State: st, Last: last})
	}
	return nil
}

// PeerHost is the host of the first client URL the member of the config
// advertises, where by default the node answers its peers for its
// journal lines; "" for a client of endpoints, a unix socket, or a
// config that is wrong.
func (c Config) PeerHost() string {
	c, _, err := c.check()
	if err != nil || !c.member() {
		return ""
	}
	u, err := url.Parse(c.AdvertiseClientURLs[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.Hostname()
}
